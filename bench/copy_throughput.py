"""Copy throughput end to end: due subscriptions -> one scheduler tick -> RQ workers -> placed orders.

    .venv/bin/python bench/copy_throughput.py [--subscriptions 5000] [--items 5] [--workers 2]

Seeds the due subscriptions (not timed), starts the RQ workers (separate processes), then
times from the start of the tick until the last copy is finished, on PostgreSQL and Redis.
"""

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import ROOT, configure, machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=5000)
    parser.add_argument("--items", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    configure()
    from django.db.models import Count

    from copies.models import CopyStatus, RecurringOrderCopy
    from subscriptions.scheduler import subscriptions_run_due
    from tests.factories import bulk_due_subscriptions

    now = datetime.now(UTC).replace(microsecond=0)
    bulk_due_subscriptions(args.subscriptions, due_at=now - timedelta(minutes=1), items_per_order=args.items)
    print(f"machine: {machine()}")
    print(f"seeded {args.subscriptions} due subscriptions with {args.items}-item source orders")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Workers are already waiting on the queue when the tick starts, as in production.
    workers = [
        subprocess.Popen([sys.executable, "manage.py", "rqworker", "default", "--verbosity", "0"], cwd=ROOT, env=env)
        for _ in range(args.workers)
    ]
    time.sleep(3)  # let them boot
    finished = RecurringOrderCopy.objects.filter(status__in=[CopyStatus.COMPLETED, CopyStatus.FAILED])
    started = time.perf_counter()
    report = subscriptions_run_due(now=now)
    tick_seconds = time.perf_counter() - started
    while finished.count() < args.subscriptions:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.terminate()
        worker.wait()

    statuses = dict(RecurringOrderCopy.objects.values_list("status").annotate(n=Count("id")))
    completed = statuses.get(CopyStatus.COMPLETED, 0)
    print(f"tick: {report.copies_created} copies created and enqueued in {tick_seconds:.2f} s")
    print(f"copies by status: {statuses}")
    assert completed == args.subscriptions, "every copy should complete"
    print(
        f"copy throughput: {completed / elapsed:.0f} copies/s end to end "
        f"({completed} copies, {args.items} items each, {args.workers} workers, {elapsed:.1f} s)"
    )


if __name__ == "__main__":
    main()
