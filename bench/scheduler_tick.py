"""Scheduler tick at scale: time and peak memory to create and enqueue a copy for every due subscription.

    .venv/bin/python bench/scheduler_tick.py [--subscriptions 100000]

Seeds the due subscriptions (not timed), then runs `manage.py run_subscriptions` in a
child process against PostgreSQL and Redis and reports its wall time and peak RSS.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.setup import ROOT, configure, machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2)
    args = parser.parse_args()

    configure()
    import django_rq

    from copies.models import RecurringOrderCopy
    from tests.factories import bulk_due_subscriptions

    now = datetime.now(UTC).replace(microsecond=0)
    chunk = 10_000
    for start in range(0, args.subscriptions, chunk):
        bulk_due_subscriptions(
            min(chunk, args.subscriptions - start), due_at=now - timedelta(minutes=1), items_per_order=args.items
        )
    print(f"machine: {machine()}")
    print(f"seeded {args.subscriptions} due subscriptions")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    tick = subprocess.run(
        [sys.executable, "manage.py", "run_subscriptions", "--now", now.isoformat()],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    copies = RecurringOrderCopy.objects.count()
    queued_jobs = django_rq.get_queue("default").count
    print(tick.stdout.strip())
    assert copies == args.subscriptions, (copies, args.subscriptions)
    print(
        f"scheduler tick: {copies} copies created and enqueued ({queued_jobs} jobs) in {elapsed:.1f} s, "
        f"peak memory {peak_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
