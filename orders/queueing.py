"""Handing work to RQ, only after the surrounding transaction commits.

Without REDIS_URL (the embedded default) jobs run inline in this process right
after commit. With Redis, a failure to enqueue never fails the caller: the work
is already saved as data (a pending row) and a periodic requeue picks it up.
"""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def get_queue(name: str = "default"):
    import django_rq

    return django_rq.get_queue(name)


def queue_is_idle(queue: str = "default") -> bool:
    """True when no job is waiting in the queue (always, when jobs run inline); False if unknown."""
    if settings.JOBS_INLINE:
        return True
    from redis.exceptions import RedisError

    try:
        return get_queue(queue).count == 0
    except (RedisError, OSError):
        return False


def enqueue_now(func: Callable, args_list: Sequence[tuple], *, queue: str = "default", **job_options: Any) -> bool:
    """Enqueue one job per args tuple in a single Redis round trip; False if Redis is unreachable."""
    if not args_list:
        return True
    if settings.JOBS_INLINE:
        for args in args_list:
            try:
                func(*args)
            except Exception:  # noqa: BLE001 - inline jobs must not break the caller, as queued ones would not
                logger.exception("inline job %s%r failed", getattr(func, "__name__", func), args)
        return True
    from redis.exceptions import RedisError
    from rq import Queue

    try:
        rq_queue = get_queue(queue)
        rq_queue.enqueue_many([Queue.prepare_data(func, args=args, **job_options) for args in args_list])
    except (RedisError, OSError) as exc:
        logger.warning(
            "could not enqueue %d %s job(s), they will be requeued later: %s",
            len(args_list),
            getattr(func, "__name__", func),
            exc,
        )
        return False
    return True


def enqueue_on_commit(
    func: Callable,
    args_list: Sequence[tuple],
    *,
    queue: str = "default",
    on_failure: Callable[[], None] | None = None,
    **job_options: Any,
) -> None:
    """Enqueue after the current transaction commits (never for a rolled-back one).

    `on_failure` runs when Redis refuses the jobs, so the caller can mark its rows for a later retry.
    """

    def enqueue() -> None:
        if not enqueue_now(func, args_list, queue=queue, **job_options) and on_failure is not None:
            on_failure()

    transaction.on_commit(enqueue)
