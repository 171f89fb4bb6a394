"""Delivering events to webhooks: dispatch after commit, one attempt per job, retries from data.

    event recorded ──commit──▶ webhook_events_dispatch: one WebhookDelivery row per listening webhook,
                               handed to RQ (or the inline thread pool)
    job ──▶ webhook_delivery_attempt: claim the row (a lease), POST, record an EventCallback, then
            delivered | pending again with next_attempt_at (a retry) | failed
    scheduler tick ──▶ webhook_deliveries_requeue: hand over due retries and rows whose job was lost

The row is the truth, the queue only a notification: a job that runs twice, late, or never is
harmless (decision W1). Nothing here raises into the code that recorded the event.
"""

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from copies.models import Event
from orders.base import generate_id
from webhooks.http import CallResult, post_signed
from webhooks.models import (
    TOPIC_RESOURCE_TYPES,
    CircuitState,
    DeliveryStatus,
    EventCallback,
    Webhook,
    WebhookDelivery,
)
from webhooks.payloads import event_document, serialize
from webhooks.queueing import deliveries_hand_off

logger = logging.getLogger(__name__)

# A worker holds a delivery this long beyond the call's own timeout before the sweep may take it back.
LEASE_MARGIN = timedelta(seconds=60)
# A pending delivery handed to a queue this long ago without being attempted is handed over again.
REQUEUE_AFTER = timedelta(minutes=5)
# How many callbacks `last_event_callbacks` lists per webhook.
LAST_CALLBACKS_KEPT = 10
# Commerce Layer e-mails the owner after this many consecutive failures; we log a warning.
FAILURES_WORTH_A_WARNING = 5
BATCH_SIZE = 500


# --- dispatch: after the commit that recorded events -------------------------------------------------


def webhook_events_dispatch(event_ids: Sequence[str]) -> int:
    """The event listener (`copies.events.register_event_listener`): never raises into the caller."""
    try:
        return _dispatch(event_ids)
    except Exception:  # noqa: BLE001 - a webhook problem must not fail the request, tick or copy that committed
        logger.exception("could not dispatch %d event(s) to webhooks", len(event_ids))
        return 0


def _dispatch(event_ids: Sequence[str]) -> int:
    # Usually no webhook listens: one query on a small table, and we are done.
    listening: dict[tuple[str, str], list[str]] = {}
    for webhook_id, mode, topic in Webhook.objects.filter(
        disabled_at__isnull=True, circuit_state=CircuitState.CLOSED
    ).values_list("id", "mode", "topic"):
        listening.setdefault((mode, topic), []).append(webhook_id)
    if not listening:
        return 0
    resource_types = {topic.split(".", 1)[0] for _, topic in listening} & TOPIC_RESOURCE_TYPES
    now = timezone.now()
    deliveries = []
    for start in range(0, len(event_ids), BATCH_SIZE):
        events = Event.objects.filter(
            id__in=list(event_ids[start : start + BATCH_SIZE]), resource_type__in=resource_types
        ).values_list("id", "mode", "resource_type", "name")
        for event_id, mode, resource_type, name in events:
            for webhook_id in listening.get((mode, f"{resource_type}.{name}"), ()):
                deliveries.append(
                    WebhookDelivery(
                        id=generate_id(), webhook_id=webhook_id, event_id=event_id, next_attempt_at=now,
                        enqueued_at=now, created_at=now, updated_at=now,
                    )
                )  # fmt: skip
    if not deliveries:
        return 0
    try:
        _insert_deliveries(deliveries)
    except IntegrityError:
        # A webhook was deleted meanwhile: deliver to the others.
        existing = set(Webhook.objects.filter(pk__in={d.webhook_id for d in deliveries}).values_list("pk", flat=True))
        deliveries = [delivery for delivery in deliveries if delivery.webhook_id in existing]
        _insert_deliveries(deliveries)
    return len(deliveries)


def _insert_deliveries(deliveries: list[WebhookDelivery]) -> None:
    with transaction.atomic():
        # A listener told twice of the same event adds nothing (unique webhook + event).
        WebhookDelivery.objects.bulk_create(deliveries, batch_size=BATCH_SIZE, ignore_conflicts=True)
        ids = [delivery.id for delivery in deliveries]
        transaction.on_commit(lambda: deliveries_hand_off(ids))


# --- one attempt -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # delivered | retry | failed | skipped | not_due | lost_lease | gone
    response_code: str | None = None
    response_message: str = ""


def _retry_delays() -> list[int]:
    return list(settings.WEBHOOK_RETRY_DELAYS)


def _skip_reason(webhook: Webhook) -> str:
    if not webhook.is_enabled:
        return "webhook disabled"
    if webhook.circuit_state == CircuitState.OPEN:
        return "circuit open"
    return ""


def webhook_delivery_attempt(delivery_id: str, *, now: datetime | None = None) -> AttemptOutcome:
    """Make one call for a due delivery, if it is still ours to make; record what it answered.

    Safe to run twice or concurrently: the attempt is claimed with a conditional UPDATE (one winner),
    and its outcome is recorded only while the claim still holds, once (one EventCallback per attempt).
    """
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_related("webhook", "event").filter(pk=delivery_id).first()
    if delivery is None:
        return AttemptOutcome("gone")
    if delivery.status != DeliveryStatus.PENDING or delivery.next_attempt_at > now:
        return AttemptOutcome("not_due")
    webhook = delivery.webhook
    reason = _skip_reason(webhook)
    if reason:
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SKIPPED, last_error=reason, updated_at=now
        )
        return AttemptOutcome("skipped", response_message=reason)

    token = secrets.token_hex(8)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(
        status=DeliveryStatus.SENDING,
        claim_token=token,
        claimed_until=now + timedelta(seconds=settings.WEBHOOK_TIMEOUT) + LEASE_MARGIN,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not claimed:
        return AttemptOutcome("not_due")
    attempt = delivery.attempts + 1

    body = delivery.body
    if not body:
        # Rendered once, at the first attempt; retries send (and sign) the very same bytes.
        event = delivery.event
        body = serialize(
            event_document(
                resource_type=event.resource_type, resource_id=event.resource_id, mode=event.mode,
                event_name=event.name, include=webhook.include_resources or (),
            )
        )  # fmt: skip
        WebhookDelivery.objects.filter(pk=delivery_id, claim_token=token).update(body=body)

    result = post_signed(
        webhook.callback_url, body.encode(), shared_secret=webhook.shared_secret, timeout=settings.WEBHOOK_TIMEOUT
    )
    return _record(delivery, webhook, token, attempt, body, result, finished_at=timezone.now() if now is None else now)


def _record(
    delivery: WebhookDelivery,
    webhook: Webhook,
    token: str,
    attempt: int,
    body: str,
    result: CallResult,
    *,
    finished_at: datetime,
) -> AttemptOutcome:
    with transaction.atomic():
        # Webhook first, then delivery: the order webhook_delete locks them in, so the two never deadlock.
        webhook_exists = Webhook.objects.select_for_update().filter(pk=webhook.pk).exists()
        still_ours = webhook_exists and (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claim_token=token)
            .exists()
        )
        if not still_ours:
            # The lease ran out and the sweep gave the delivery to another attempt: that one records.
            return AttemptOutcome("lost_lease", result.response_code, result.response_message)
        EventCallback.objects.create(
            mode=webhook.mode,
            webhook_id=webhook.pk,
            last_of_webhook_id=webhook.pk,
            delivery_id=delivery.pk,
            attempt=attempt,
            callback_url=webhook.callback_url,
            payload=orjson.loads(body),
            response_code=result.response_code,
            response_message=result.response_message,
            created_at=finished_at,
            updated_at=finished_at,
        )
        _forget_older_callbacks(webhook.pk)
        if result.succeeded:
            # "Reset on first successful call" (an open circuit stays open until _reset_circuit).
            Webhook.objects.filter(pk=webhook.pk, circuit_state=CircuitState.CLOSED).update(circuit_failure_count=0)
            status, next_attempt_at, outcome = DeliveryStatus.DELIVERED, delivery.next_attempt_at, "delivered"
        else:
            failures, circuit_state = _count_failure(webhook.pk)
            delays = _retry_delays()
            retries_made = attempt - 1
            if circuit_state == CircuitState.OPEN:
                status, next_attempt_at, outcome = DeliveryStatus.FAILED, delivery.next_attempt_at, "failed"
            elif retries_made < len(delays):
                next_attempt_at = finished_at + timedelta(seconds=delays[retries_made])
                status, outcome = DeliveryStatus.PENDING, "retry"
            else:
                status, next_attempt_at, outcome = DeliveryStatus.FAILED, delivery.next_attempt_at, "failed"
            if failures == FAILURES_WORTH_A_WARNING:
                logger.warning("webhook %s (%s) failed %d times in a row", webhook.pk, webhook.name, failures)
        WebhookDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            status=status,
            next_attempt_at=next_attempt_at,
            enqueued_at=None,
            claim_token="",
            claimed_until=None,
            last_error="" if result.succeeded else result.response_message,
            updated_at=finished_at,
        )
    return AttemptOutcome(outcome, result.response_code, result.response_message)


def _count_failure(webhook_id: str) -> tuple[int, str]:
    """One more consecutive failure, opening the circuit at the threshold; in one UPDATE, so concurrent
    failures all count."""
    threshold = settings.WEBHOOK_CIRCUIT_THRESHOLD
    Webhook.objects.filter(pk=webhook_id).update(
        circuit_failure_count=F("circuit_failure_count") + 1,
        circuit_state=Case(
            When(circuit_failure_count__gte=threshold - 1, then=Value(CircuitState.OPEN)),
            default=F("circuit_state"),
        ),
    )
    row = Webhook.objects.filter(pk=webhook_id).values_list("circuit_failure_count", "circuit_state").first()
    return row or (0, CircuitState.CLOSED)


def _forget_older_callbacks(webhook_id: str) -> None:
    """Keep `last_event_callbacks` to the newest few: older callbacks stay, unlisted there."""
    older = list(
        EventCallback.objects.filter(last_of_webhook_id=webhook_id)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)[LAST_CALLBACKS_KEPT : LAST_CALLBACKS_KEPT + BATCH_SIZE]
    )
    if older:
        EventCallback.objects.filter(id__in=older).update(last_of_webhook=None)


# --- the sweep: retries that came due, jobs that were lost, old history ------------------------------


@dataclass
class RequeueReport:
    handed_over: int = 0
    leases_expired: int = 0
    given_up: int = 0
    purged: int = 0

    @property
    def did_something(self) -> bool:
        return bool(self.handed_over or self.leases_expired or self.given_up or self.purged)

    def summary(self) -> str:
        return (
            f"webhooks: {self.handed_over} deliveries handed over, {self.leases_expired} lost attempts returned, "
            f"{self.given_up} given up, {self.purged} old records purged"
        )


def webhook_deliveries_requeue(*, now: datetime | None = None, limit: int = 5000) -> RequeueReport:
    """Hand over every delivery whose retry is due (or whose job never ran); safe to run concurrently."""
    now = now or timezone.now()
    report = RequeueReport()
    report.leases_expired, report.given_up = _take_back_expired_leases(now)
    while report.handed_over < limit:
        with transaction.atomic():
            ids = list(
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REQUEUE_AFTER))
                .order_by("next_attempt_at")
                .values_list("id", flat=True)[: min(BATCH_SIZE, limit - report.handed_over)]
            )
            if not ids:
                break
            WebhookDelivery.objects.filter(id__in=ids).update(enqueued_at=now)
            transaction.on_commit(lambda ids=ids: deliveries_hand_off(ids))
        report.handed_over += len(ids)
    report.purged = _purge_history(now)
    return report


def _take_back_expired_leases(now: datetime) -> tuple[int, int]:
    """A worker died (or lost its connection) mid-call: its attempt counts, the delivery goes on."""
    expired = WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_until__lt=now)
    max_attempts = len(_retry_delays()) + 1
    given_up = expired.filter(attempts__gte=max_attempts).update(
        status=DeliveryStatus.FAILED, claim_token="", claimed_until=None, last_error="attempt lost", updated_at=now
    )
    returned = expired.update(
        status=DeliveryStatus.PENDING, claim_token="", claimed_until=None, next_attempt_at=now, enqueued_at=None,
        last_error="attempt lost", updated_at=now,
    )  # fmt: skip
    return returned, given_up


def _purge_history(now: datetime) -> int:
    """Callbacks and finished deliveries older than WEBHOOK_HISTORY_DAYS, a bounded slice per tick."""
    days = settings.WEBHOOK_HISTORY_DAYS
    if not days:
        return 0
    cutoff = now - timedelta(days=days)
    old_callbacks = list(EventCallback.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:BATCH_SIZE])
    purged = EventCallback.objects.filter(id__in=old_callbacks).delete()[0] if old_callbacks else 0
    finished = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)
    old_deliveries = list(
        WebhookDelivery.objects.filter(status__in=finished, updated_at__lt=cutoff).values_list("id", flat=True)[
            :BATCH_SIZE
        ]
    )
    if old_deliveries:
        purged += WebhookDelivery.objects.filter(id__in=old_deliveries).delete()[0]
    return purged


def webhook_deliveries_tick(*, now: datetime | None = None) -> RequeueReport | None:
    """The scheduler tick's share of webhooks: the sweep, which must never stop the tick (None if it failed)."""
    try:
        return webhook_deliveries_requeue(now=now)
    except Exception:  # noqa: BLE001 - the next tick retries; the subscriptions' own work is already done
        logger.exception("webhook retry sweep failed")
        return None
