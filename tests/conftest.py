import os

import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    on_postgres = "postgres" in os.environ.get("DATABASE_URL", "")
    has_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)"))
        if "redis" in item.keywords and not has_redis:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL (CI does)"))


@pytest.fixture(autouse=True)
def jobs_inline(settings):
    """Jobs run inline unless a test asks for the real queue (the `rq_queue` fixture)."""
    settings.JOBS_INLINE = True


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


# Keeps test jobs apart from a developer's own queue; parallel runs can pick their own.
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))


def _test_redis_url() -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ["REDIS_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{TEST_REDIS_DB}", "", ""))


@pytest.fixture
def rq_queue(settings):
    """Jobs go to a real Redis queue (an empty test database); `drain()` runs a burst worker in this process."""
    import django_rq
    from redis import Redis
    from rq import SimpleWorker

    settings.JOBS_INLINE = False
    url = _test_redis_url()
    settings.RQ_QUEUES = {"default": {"URL": url, "DEFAULT_TIMEOUT": settings.COPY_JOB_TIMEOUT}}
    redis = Redis.from_url(url)
    redis.flushdb()
    queue = django_rq.get_queue("default")

    def drain() -> int:
        worker = SimpleWorker([queue], connection=queue.connection)
        worker.work(burst=True)
        return len(queue.finished_job_registry)

    queue.drain = drain
    yield queue
    redis.flushdb()
