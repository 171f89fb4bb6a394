"""The set-based insert/update helpers behave like the ORM on every database."""

from datetime import UTC, datetime

import pytest
from django.db.models import F

from copies.models import CopyStatus, RecurringOrderCopy
from orders.bulk import insert_rows, update_rows
from subscriptions.models import OrderSubscription
from tests.factories import active_subscription

pytestmark = pytest.mark.django_db


def test_insert_rows_fills_model_defaults_and_keeps_json_and_foreign_keys():
    subscription = active_subscription()
    cycle = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    inserted = insert_rows(
        RecurringOrderCopy,
        [
            {"order_subscription_id": subscription.id, "source_order": subscription.source_order, "cycle_at": cycle},
            {
                "order_subscription": subscription,
                "source_order_id": subscription.source_order_id,
                "metadata": {"a": [1]},
            },
        ],
    )
    assert inserted == 2
    first, second = RecurringOrderCopy.objects.order_by(F("cycle_at").asc(nulls_last=True))
    assert len(first.id) == 10 and first.id != second.id
    assert (first.status, first.reuse_wallet, first.place_target_order, first.errors_log) == (
        CopyStatus.PENDING, True, True, {}
    )  # fmt: skip
    assert first.cycle_at == cycle and second.cycle_at is None
    assert second.metadata == {"a": [1]}
    assert second.order_subscription_id == subscription.id


def test_update_rows_sets_and_increments_by_primary_key():
    first, second, untouched = (active_subscription() for _ in range(3))
    when = datetime(2027, 1, 1, tzinfo=UTC)
    updated = update_rows(
        OrderSubscription,
        ["next_run_at", "occurrencies", "metadata"],
        [(first.id, when, 2, {"x": 1}), (second.id, None, 5, {})],
        increment=["occurrencies"],
    )
    assert updated == 2
    first.refresh_from_db(), second.refresh_from_db(), untouched.refresh_from_db()
    assert (first.next_run_at, first.occurrencies, first.metadata) == (when, 3, {"x": 1})
    assert (second.next_run_at, second.occurrencies, second.metadata) == (None, 6, {})
    assert untouched.occurrencies == 1


def test_empty_input_touches_nothing():
    assert insert_rows(RecurringOrderCopy, []) == 0
    assert update_rows(OrderSubscription, ["occurrencies"], []) == 0
