import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils.dateparse import parse_datetime

from copies.events import acting_as
from subscriptions.scheduler import DEFAULT_BATCH_SIZE, subscriptions_run_due
from webhooks.delivery import webhook_deliveries_tick


def _aware(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None or moment.tzinfo is None:
        raise CommandError(f"--now must be an ISO 8601 time with a zone, e.g. 2026-01-01T00:00:00Z (got {value!r})")
    return moment


class Command(BaseCommand):
    help = (
        "Run one scheduler tick: a copy for every due subscription, expiry, renewal alerts, the copy sweeper "
        "and due webhook retries. "
        "Run it every minute from cron; several at once are safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what would run; change nothing.")
        parser.add_argument("--now", type=_aware, help="Run as if it were this time (tests, back-fills).")
        parser.add_argument("--limit", type=int, help="Create at most this many copies.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Keep running, one tick every SECONDS.")
        parser.add_argument("--quiet", action="store_true", help="Print only ticks that did something.")

    def handle(self, *args, dry_run: bool, now, limit, batch_size, every, quiet, **options):
        if limit is not None and limit < 0:
            raise CommandError("--limit must not be negative")
        if every is not None and (every < 1 or dry_run or now):
            raise CommandError("--every needs a positive number of seconds and no --dry-run or --now")
        while True:
            started = time.monotonic()
            self._tick(now=now, limit=limit, batch_size=batch_size, dry_run=dry_run, quiet=quiet)
            if every is None:
                return
            close_old_connections()
            time.sleep(max(0.0, every - (time.monotonic() - started)))

    def _tick(self, *, now, limit, batch_size, dry_run, quiet):
        with acting_as({"kind": "scheduler"}):
            report = subscriptions_run_due(now=now, limit=limit, batch_size=batch_size, dry_run=dry_run)
        if dry_run:
            for subscription in report.would_run:
                self.stdout.write(
                    f"#{subscription.number} {subscription.frequency} due {subscription.next_run_at.isoformat()}"
                )
        if not quiet or report.did_something:
            self.stdout.write(report.summary())
        if not dry_run:
            # Webhook retries are rows with a due time: the tick hands over those that came due
            # (by the real clock: --now back-fills subscriptions, calls happen now).
            webhooks_report = webhook_deliveries_tick()
            if webhooks_report is not None and webhooks_report.did_something:
                self.stdout.write(webhooks_report.summary())
