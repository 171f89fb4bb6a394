from datetime import timedelta

from django.core.management.base import BaseCommand

from copies.events import acting_as
from copies.services import recurring_order_copies_recover


class Command(BaseCommand):
    help = (
        "Enqueue pending copies that never reached a worker and return copies whose worker died to pending. "
        "Safe to run every minute and alongside other instances."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--pending-age",
            type=int,
            default=120,
            help="Seconds a never-enqueued pending copy waits before it is enqueued (default 120).",
        )
        parser.add_argument(
            "--enqueued-age",
            type=int,
            default=1800,
            help="Seconds after which an enqueued but unstarted copy is enqueued again (default 1800).",
        )
        parser.add_argument(
            "--stuck-after",
            type=int,
            default=None,
            help="Seconds after which an in-progress copy counts as abandoned (default: job timeout).",
        )

    def handle(self, *args, pending_age: int, enqueued_age: int, stuck_after, **options):
        with acting_as({"kind": "sweeper"}):
            report = recurring_order_copies_recover(
                pending_age=timedelta(seconds=pending_age),
                enqueued_age=timedelta(seconds=enqueued_age),
                stuck_after=timedelta(seconds=stuck_after) if stuck_after is not None else None,
            )
        self.stdout.write(
            f"{report.enqueued} enqueued, {report.returned_to_pending} returned to pending, "
            f"{report.failed_after_attempts} failed after too many attempts, "
            f"{report.subscriptions_unstuck} subscriptions no longer running"
        )
