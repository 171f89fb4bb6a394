"""The scheduler tick: one copy per due cycle, catch-up, expiry, renewal alerts, dry runs."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command

from copies.models import CopyStatus, Event, RecurringOrderCopy
from copies.services import recurring_order_copies_run, recurring_order_copy_retry
from subscriptions.models import OrderSubscription, SubscriptionStatus
from subscriptions.scheduler import subscription_run_now, subscriptions_run_due
from subscriptions.services import subscription_activate, subscription_cancel, subscription_deactivate
from tests.factories import active_subscription, placed_order

pytestmark = pytest.mark.django_db

PLACED = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def subscription_placed_at(placed_at=PLACED, frequency="monthly", **fields) -> OrderSubscription:
    return active_subscription(order=placed_order(placed_at=placed_at), frequency=frequency, now=placed_at, **fields)


def copies_of(subscription):
    return RecurringOrderCopy.objects.filter(order_subscription=subscription)


def tick(now, **options):
    report = subscriptions_run_due(now=now, **options)
    pending = list(RecurringOrderCopy.objects.filter(status=CopyStatus.PENDING).values_list("id", flat=True))
    recurring_order_copies_run(pending, now=now)  # what the workers would do
    return report


def reload(subscription) -> OrderSubscription:
    subscription.refresh_from_db()
    return subscription


def test_a_due_subscription_gets_one_copy_for_its_cycle_and_moves_on():
    subscription = subscription_placed_at()
    assert subscription.next_run_at == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    report = tick(datetime(2026, 2, 28, 9, 0, 30, tzinfo=UTC))

    assert report.copies_created == 1
    copy = copies_of(subscription).get()
    assert copy.cycle_at == datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    assert copy.status == CopyStatus.COMPLETED
    subscription = reload(subscription)
    assert subscription.next_run_at == datetime(2026, 3, 31, 9, 0, tzinfo=UTC)  # the anchor's day, no drift
    assert subscription.occurrencies == 2


def test_a_subscription_that_is_not_due_is_left_alone():
    subscription = subscription_placed_at()
    assert tick(datetime(2026, 2, 28, 8, 59, tzinfo=UTC)).copies_created == 0
    assert not copies_of(subscription).exists()


@pytest.mark.parametrize("make_unrunnable", [subscription_deactivate, subscription_cancel])
def test_inactive_and_cancelled_subscriptions_never_run(make_unrunnable):
    subscription = subscription_placed_at()
    make_unrunnable(subscription)
    assert tick(datetime(2026, 6, 1, tzinfo=UTC)).copies_created == 0
    assert not copies_of(subscription).exists()


def test_a_second_tick_for_the_same_moment_creates_nothing():
    subscription = subscription_placed_at()
    now = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
    tick(now)
    assert tick(now).copies_created == 0
    assert copies_of(subscription).count() == 1


def test_twelve_monthly_ticks_follow_the_month_ends():
    subscription = subscription_placed_at()
    moment = datetime(2026, 2, 1, tzinfo=UTC)
    while moment < datetime(2027, 2, 1, tzinfo=UTC):
        tick(moment)
        moment += timedelta(hours=12)
    cycles = [copy.cycle_at.date().isoformat() for copy in copies_of(subscription).order_by("cycle_at")]
    assert cycles == [
        "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31",
        "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31",
    ]  # fmt: skip


def test_catch_up_after_three_days_down_makes_one_run_not_one_per_missed_hour():
    subscription = subscription_placed_at(frequency="hourly")
    first_due = subscription.next_run_at
    back_up = first_due + timedelta(days=3, minutes=20)
    assert tick(back_up).copies_created == 1
    copy = copies_of(subscription).get()
    assert copy.cycle_at == first_due
    subscription = reload(subscription)
    assert subscription.next_run_at == first_due + timedelta(days=3, hours=1)  # the next future slot
    assert subscription.next_run_at > back_up
    assert tick(back_up + timedelta(minutes=5)).copies_created == 0


def test_reactivated_subscription_runs_its_missed_cycle_once_at_the_next_tick():
    subscription = subscription_placed_at(frequency="daily")
    subscription_deactivate(subscription)
    tick(datetime(2026, 2, 5, tzinfo=UTC))
    assert not copies_of(subscription).exists()

    subscription_activate(subscription, now=datetime(2026, 2, 5, 12, 0, tzinfo=UTC))
    assert tick(datetime(2026, 2, 5, 12, 1, tzinfo=UTC)).copies_created == 1
    assert tick(datetime(2026, 2, 5, 12, 2, tzinfo=UTC)).copies_created == 0
    assert reload(subscription).next_run_at == datetime(2026, 2, 6, 9, 0, tzinfo=UTC)


def test_limit_caps_the_copies_of_one_tick():
    for _ in range(3):
        subscription_placed_at()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert subscriptions_run_due(now=now, limit=2).copies_created == 2
    assert subscriptions_run_due(now=now, limit=2).copies_created == 1


def test_small_batches_create_the_same_copies():
    subscriptions = [subscription_placed_at() for _ in range(5)]
    assert subscriptions_run_due(now=datetime(2026, 3, 1, tzinfo=UTC), batch_size=2).copies_created == 5
    assert all(copies_of(subscription).count() == 1 for subscription in subscriptions)


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def test_dry_run_changes_nothing():
    subscriptions = [subscription_placed_at() for _ in range(3)]
    before_counts = row_counts()
    before_rows = list(OrderSubscription.objects.order_by("pk").values())
    out = StringIO()
    call_command("run_subscriptions", "--dry-run", "--now", "2026-03-01T00:00:00Z", stdout=out)

    assert row_counts() == before_counts
    assert list(OrderSubscription.objects.order_by("pk").values()) == before_rows
    text = out.getvalue()
    assert "3 subscription(s) would run; nothing changed" in text
    assert all(f"#{subscription.number} monthly due" in text for subscription in subscriptions)


def test_the_command_prints_a_one_line_summary():
    subscription_placed_at()
    out = StringIO()
    call_command("run_subscriptions", "--now", "2026-03-01T00:00:00Z", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1 and "1 copies created" in lines[0]


def test_the_command_refuses_a_naive_time():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="with a zone"):
        call_command("run_subscriptions", "--now", "2026-03-01T00:00:00")


# --- Expiry --------------------------------------------------------------------------------------


def test_an_expired_subscription_becomes_inactive_and_never_runs_again():
    subscription = subscription_placed_at(expires_at=datetime(2026, 4, 15, tzinfo=UTC))
    tick(datetime(2026, 3, 1, tzinfo=UTC))
    tick(datetime(2026, 4, 1, tzinfo=UTC))
    report = tick(datetime(2026, 4, 16, tzinfo=UTC))
    assert report.expired == 1
    subscription = reload(subscription)
    assert subscription.status == SubscriptionStatus.INACTIVE and subscription.next_run_at is None
    assert Event.objects.get(resource_id=subscription.id, name="deactivate").payload == {"reason": "expired"}
    tick(datetime(2027, 1, 1, tzinfo=UTC))
    assert copies_of(subscription).count() == 2  # Feb 28 and Mar 31, never again


def test_a_run_due_before_expiry_still_happens_when_the_scheduler_is_late():
    subscription = subscription_placed_at(expires_at=datetime(2026, 3, 1, tzinfo=UTC))
    report = subscriptions_run_due(now=datetime(2026, 3, 5, tzinfo=UTC))  # Feb 28 was due before expiry
    assert report.copies_created == 1 and report.expired == 0  # its copy is still pending
    recurring_order_copies_run(list(copies_of(subscription).values_list("id", flat=True)))
    assert copies_of(subscription).get().status == CopyStatus.COMPLETED
    assert subscriptions_run_due(now=datetime(2026, 3, 5, 0, 1, tzinfo=UTC)).expired == 1
    assert reload(subscription).status == SubscriptionStatus.INACTIVE


def test_no_next_run_is_scheduled_past_expiry():
    subscription = subscription_placed_at(expires_at=datetime(2026, 3, 15, tzinfo=UTC))
    tick(datetime(2026, 3, 1, tzinfo=UTC))
    assert reload(subscription).next_run_at is None


# --- Renewal alerts ---------------------------------------------------------------------------------


def renewal_events(subscription):
    return Event.objects.filter(resource_id=subscription.id, name="renewal")


def test_renewal_alert_fires_once_per_cycle_inside_its_period():
    subscription = subscription_placed_at(renewal_alert_period=48)
    run_at = subscription.next_run_at
    assert subscriptions_run_due(now=run_at - timedelta(hours=49)).renewal_alerts == 0
    assert subscriptions_run_due(now=run_at - timedelta(hours=47)).renewal_alerts == 1
    assert subscriptions_run_due(now=run_at - timedelta(hours=46)).renewal_alerts == 0
    assert renewal_events(subscription).get().payload == {"next_run_at": run_at.isoformat()}

    tick(run_at)  # the run happens; the next cycle gets its own alert
    next_run = reload(subscription).next_run_at
    assert subscriptions_run_due(now=next_run - timedelta(hours=47)).renewal_alerts == 1
    assert renewal_events(subscription).count() == 2


def test_no_renewal_alert_while_inactive():
    subscription = subscription_placed_at(renewal_alert_period=48)
    subscription_deactivate(subscription)
    assert subscriptions_run_due(now=subscription.next_run_at - timedelta(hours=1)).renewal_alerts == 0


# --- Run now and retry ------------------------------------------------------------------------------


def test_run_now_runs_the_upcoming_cycle_and_the_scheduler_does_not_repeat_it():
    subscription = active_subscription(frequency="monthly")
    upcoming = subscription.next_run_at
    copy = subscription_run_now(subscription)
    assert copy.cycle_at == upcoming
    assert reload(subscription).next_run_at > upcoming
    assert subscriptions_run_due(now=upcoming + timedelta(minutes=1)).copies_created == 0
    assert copies_of(subscription).count() == 1


def test_run_now_is_refused_for_inactive_subscriptions():
    subscription = subscription_deactivate(active_subscription())
    with pytest.raises(ValidationError, match="only active subscriptions"):
        subscription_run_now(subscription)


def test_retry_makes_a_new_copy_for_the_same_cycle_and_keeps_the_failed_one():
    subscription = subscription_placed_at()
    subscription.customer_payment_source.expires_at = PLACED
    subscription.customer_payment_source.save()
    tick(datetime(2026, 3, 1, tzinfo=UTC))
    failed = copies_of(subscription).get()
    assert failed.status == CopyStatus.FAILED

    retry = recurring_order_copy_retry(failed)
    assert (retry.cycle_at, retry.retry_of_id, retry.status) == (failed.cycle_at, failed.id, CopyStatus.PENDING)
    failed.refresh_from_db()
    assert failed.status == CopyStatus.FAILED
    with pytest.raises(ValidationError, match="already been retried"):
        recurring_order_copy_retry(failed)


def test_only_failed_copies_can_be_retried():
    subscription = subscription_placed_at()
    tick(datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match="only failed copies"):
        recurring_order_copy_retry(copies_of(subscription).get())


def test_the_tick_runs_the_copy_sweeper():
    subscription = subscription_placed_at()
    RecurringOrderCopy.objects.create(
        mode=subscription.mode,
        order_subscription=subscription,
        source_order=subscription.source_order,
        status=CopyStatus.IN_PROGRESS,
        started_at=datetime(2026, 2, 1, tzinfo=UTC),
        attempts=1,
    )
    report = subscriptions_run_due(now=datetime(2026, 2, 2, tzinfo=UTC))
    assert report.recovery.returned_to_pending == 1
