"""Admin changelist on a big table: server time of the recurring order copies list, first page and filtered.

    .venv/bin/python bench/admin_changelist.py [--copies 1000000] [--requests 30]

Seeds the copies (with their subscriptions and target orders) in PostgreSQL, not timed, then
times requests through the full Django stack (middleware, auth, admin, templates) in-process
and prints the median per page.
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import configure, machine  # noqa: E402

CHUNK = 50_000
FAILED_LOG = {"payment_source": ["is expired"], "status": ["cannot transition from draft to placed"]}


def seed(copies: int, subscriptions: int) -> None:
    from django.db import connection, transaction

    from copies.models import RecurringOrderCopy
    from orders.base import generate_id
    from orders.bulk import insert_rows
    from orders.models import Order
    from orders.sequences import ORDER_NUMBERS, next_numbers
    from subscriptions.models import OrderSubscription
    from tests.factories import bulk_due_subscriptions

    now = datetime.now(UTC)
    bulk_due_subscriptions(subscriptions, due_at=now + timedelta(days=3), items_per_order=1)
    subs = list(OrderSubscription.objects.values_list("id", "source_order_id", "market_id", "customer_id"))
    done = 0
    while done < copies:
        size = min(CHUNK, copies - done)
        with transaction.atomic():
            numbers = next_numbers(ORDER_NUMBERS, size)
            order_rows, copy_rows = [], []
            for offset in range(size):
                index = done + offset
                sub_id, source_id, market_id, customer_id = subs[index % len(subs)]
                created = now - timedelta(minutes=index // 3)  # about 15 months of history
                failed = index % 100 == 7
                pending = index % 500 == 3
                order_id = None
                if not pending:
                    order_id = generate_id()
                    order_rows.append({
                        "id": order_id, "number": numbers[offset], "status": "draft" if failed else "placed",
                        "placed_at": None if failed else created, "market_id": market_id,
                        "customer_id": customer_id, "customer_email": "bench@example.com",
                        "order_subscription_id": sub_id, "created_at": created, "updated_at": created,
                    })  # fmt: skip
                copy_rows.append({
                    "order_subscription_id": sub_id, "source_order_id": source_id, "target_order_id": order_id,
                    "status": "failed" if failed else "pending" if pending else "completed",
                    "started_at": None if pending else created,
                    "completed_at": None if failed or pending else created,
                    "failed_at": created if failed else None,
                    "errors_log": FAILED_LOG if failed else {}, "errors_count": 2 if failed else 0,
                    "cycle_at": created, "created_at": created, "updated_at": created,
                })  # fmt: skip
            insert_rows(Order, order_rows)
            insert_rows(RecurringOrderCopy, copy_rows)
        done += size
        print(f"  seeded {done} copies", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE copies_recurringordercopy")
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE subscriptions_ordersubscription")


def median_ms(client, url: str, requests: int) -> tuple[float, int]:
    response = client.get(url)  # warm caches and templates
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=1_000_000)
    parser.add_argument("--subscriptions", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    configure()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from subscriptions.models import OrderSubscription

    seed(args.copies, args.subscriptions)
    print(f"machine: {machine()}")
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.force_login(user)
    base = "/admin/copies/recurringordercopy/"
    pages = {
        "first page": base,
        "filtered (status=failed)": base + "?status__exact=failed",
        "search (subscription number)": base + f"?q={OrderSubscription.objects.values_list('number', flat=True)[0]}",
    }
    results = []
    for label, url in pages.items():
        median, size = median_ms(client, url, args.requests)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results.append(f"{label}: {median:.0f} ms median, {len(queries)} queries")
        print(f"{label}: {median:.1f} ms median over {args.requests} requests ({size} bytes, {len(queries)} queries)")
    print(f"admin changelist with {args.copies} copies: " + "; ".join(results))


if __name__ == "__main__":
    main()
