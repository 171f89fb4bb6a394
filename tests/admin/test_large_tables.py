"""Lists stay fast on big tables: no full COUNT(*) past a threshold (an estimate on PostgreSQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.admin_support import EstimatedCountPaginator
from tests.admin.builders import failed_copy

pytestmark = pytest.mark.django_db

COPIES = reverse("admin:copies_recurringordercopy_changelist")


@pytest.fixture
def tiny_threshold(monkeypatch):
    """Pretend 3 rows is a big table, so a handful of rows exercises the estimate."""
    monkeypatch.setattr(EstimatedCountPaginator, "exact_count_limit", 3)


def test_small_results_are_counted_exactly(admin_client):
    failed_copy()
    failed_copy()

    response = admin_client.get(COPIES)

    assert response.context["cl"].result_count == 2
    assert response.context["cl"].paginator.count_is_estimated is False


def test_past_the_threshold_sqlite_still_counts_exactly(admin_client, tiny_threshold, on_postgres):
    if on_postgres:
        pytest.skip("PostgreSQL estimates instead; see the next test")
    for _ in range(5):
        failed_copy()

    response = admin_client.get(COPIES)

    assert response.context["cl"].result_count == 5
    assert "about" not in response.content.decode().split('class="paginator"')[1][:300]


@pytest.mark.postgres
def test_past_the_threshold_postgres_estimates_and_never_counts_the_whole_table(admin_client, tiny_threshold):
    for _ in range(6):
        failed_copy()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE copies_recurringordercopy")

    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(COPIES)

    changelist = response.context["cl"]
    assert changelist.paginator.count_is_estimated is True
    assert changelist.result_count >= 4
    counts = [query["sql"] for query in captured.captured_queries if "COUNT(" in query["sql"].upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    assert any(query["sql"].startswith("EXPLAIN") for query in captured.captured_queries)
    paginator_html = response.content.decode().split('class="paginator"')[1][:600]
    assert "about" in paginator_html
