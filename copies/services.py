"""The recurring order copy engine: one run of a subscription turned into a new order.

A run has two transactions:

1. Claim: only `pending` copies move to `in_progress` (with a claim token and an
   attempt count) and their subscriptions show `running`. A second run of the
   same copy finds nothing pending and does nothing.
2. Build: under a row lock, and only if the claim token is still ours, build the
   target order (addresses as new rows, items from the subscription, the wallet
   payment source), place it if asked, and record the outcome on the copy and
   the subscription. Target order and outcome commit together, so no path
   creates two target orders for one copy.

Copies are built in batches (a handful of queries per batch, not per copy). If a
batch hits an unexpected error, each copy is retried alone so one bad copy
cannot fail the others. A worker that dies between the two transactions leaves
the copy `in_progress`; `recurring_order_copies_recover` returns it to
`pending` once the job timeout has passed.
"""

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from copies.events import build_event, event_record, event_row, event_rows_record, events_record, new_event
from copies.models import CopyStatus, Event, RecurringOrderCopy
from orders.base import generate_id
from orders.bulk import insert_objects, insert_rows, update_rows
from orders.models import Address, LineItem, Order, OrderStatus
from orders.sequences import ORDER_NUMBERS, next_numbers
from orders.services import BLANK, order_placement_errors, order_totals, payment_source_in_wallet
from subscriptions.models import OrderSubscription, OrderSubscriptionItem, SubscriptionStatus

logger = logging.getLogger(__name__)

COPY_TYPE = "recurring_order_copies"
RUNNABLE_SUBSCRIPTION_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING)
COPY_EVENT_NAMES = {CopyStatus.COMPLETED: "complete", CopyStatus.FAILED: "fail", CopyStatus.ABORTED: "abort"}


# --- Creating copies -------------------------------------------------------------------------


def enqueue_copies(copy_ids: Sequence[str]) -> None:
    """Hand copies to the workers after commit, several per job.

    Copies are created with `enqueued_at` already set (one UPDATE fewer per copy on the hot
    path); if Redis refuses the jobs, it is cleared so the sweeper enqueues them later.
    """
    from copies.jobs import run_recurring_order_copies
    from orders.queueing import enqueue_on_commit

    if not copy_ids:
        return
    size = max(1, settings.COPY_JOB_BATCH_SIZE)
    ids = list(copy_ids)
    chunks = [ids[i : i + size] for i in range(0, len(ids), size)]

    def mark_not_enqueued() -> None:
        RecurringOrderCopy.objects.filter(id__in=ids, status=CopyStatus.PENDING).update(enqueued_at=None)

    enqueue_on_commit(
        run_recurring_order_copies,
        [(chunk,) for chunk in chunks],
        on_failure=mark_not_enqueued,
        timeout=settings.COPY_JOB_TIMEOUT,
    )


@transaction.atomic
def recurring_order_copy_create(
    *,
    order_subscription: OrderSubscription,
    source_order: Order | None = None,
    place_target_order: bool | None = None,
    reuse_wallet: bool = True,
    reference: str | None = None,
    reference_origin: str | None = None,
    metadata: dict | None = None,
    cycle_at: datetime | None = None,
    retry_of: RecurringOrderCopy | None = None,
) -> RecurringOrderCopy:
    """Create a pending copy and enqueue it after commit.

    Raises ValidationError when the subscription cannot run, and when the cycle
    already has its copy (the unique constraint is the final word on that).
    """
    # Re-read under a lock: the caller's instance may be stale, and a concurrent cancel must win or wait.
    order_subscription = OrderSubscription.objects.select_for_update(of=("self",)).get(pk=order_subscription.pk)
    errors: dict[str, list[str]] = {}
    if source_order is not None and source_order.pk != order_subscription.source_order_id:
        errors["source_order"] = ["must be the source order of the order subscription"]
    if order_subscription.status not in RUNNABLE_SUBSCRIPTION_STATUSES:
        errors["order_subscription"] = [f"is {order_subscription.status}: only active subscriptions run"]
    if errors:
        raise ValidationError(errors)
    copy = RecurringOrderCopy(
        mode=order_subscription.mode,
        order_subscription=order_subscription,
        source_order_id=order_subscription.source_order_id,
        place_target_order=order_subscription.place_target_order if place_target_order is None else place_target_order,
        reuse_wallet=reuse_wallet,
        reference=reference,
        reference_origin=reference_origin,
        metadata=metadata or {},
        cycle_at=cycle_at,
        retry_of=retry_of,
        enqueued_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            copy.save(force_insert=True)
    except IntegrityError:
        if retry_of is not None:
            raise ValidationError({"retry_of": ["this copy has already been retried"]}) from None
        raise ValidationError({"cycle_at": ["this run of the subscription already has its copy"]}) from None
    event_record(copy, "create")
    enqueue_copies([copy.id])
    return copy


@dataclass(frozen=True)
class DueCycle:
    """One due run of a subscription, as the scheduler hands it over."""

    order_subscription_id: str
    mode: str
    source_order_id: str
    place_target_order: bool
    cycle_at: datetime


def recurring_order_copies_create_for_cycles(cycles: Sequence[DueCycle], *, now: datetime) -> list[str]:
    """One pending copy per due cycle (the scheduler's bulk path); returns the new copies' ids.

    Call inside the transaction that holds the subscriptions' row locks and advances
    their schedules, so copies and schedule changes commit together.
    """
    rows = [
        {
            "id": generate_id(),
            "mode": cycle.mode,
            "order_subscription_id": cycle.order_subscription_id,
            "source_order_id": cycle.source_order_id,
            "place_target_order": cycle.place_target_order,
            "cycle_at": cycle.cycle_at,
            "enqueued_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for cycle in cycles
    ]
    try:
        with transaction.atomic():
            insert_rows(RecurringOrderCopy, rows)
    except IntegrityError:
        # Some cycle already has its copy (a "run now" raced us): insert the others one by one.
        inserted = []
        for row in rows:
            try:
                with transaction.atomic():
                    insert_rows(RecurringOrderCopy, [row])
                inserted.append(row)
            except IntegrityError:
                logger.info(
                    "cycle %s of subscription %s already has a copy", row["cycle_at"], row["order_subscription_id"]
                )
        rows = inserted
    event_rows_record(
        event_row(resource_type=COPY_TYPE, resource_id=row["id"], mode=row["mode"], name="create", at=now)
        for row in rows
    )
    copy_ids = [row["id"] for row in rows]
    enqueue_copies(copy_ids)
    return copy_ids


@transaction.atomic
def recurring_order_copy_retry(copy: RecurringOrderCopy) -> RecurringOrderCopy:
    """A new copy for the same subscription and cycle; the failed one stays as history."""
    copy = RecurringOrderCopy.objects.select_related("order_subscription").get(pk=copy.pk)
    if copy.status != CopyStatus.FAILED:
        raise ValidationError({"status": [f"is {copy.status}: only failed copies can be retried"]})
    if RecurringOrderCopy.objects.filter(retry_of=copy).exists():
        raise ValidationError({"retry_of": ["this copy has already been retried"]})
    return recurring_order_copy_create(
        order_subscription=copy.order_subscription,
        place_target_order=copy.place_target_order,
        reuse_wallet=copy.reuse_wallet,
        cycle_at=copy.cycle_at,
        retry_of=copy,
        metadata={"retry_of": copy.id},
    )


# --- Running copies --------------------------------------------------------------------------


@dataclass
class RunReport:
    claimed: int = 0
    completed: int = 0
    failed: int = 0
    aborted: int = 0
    skipped: int = 0  # not pending, or taken by another run

    def add(self, other: "RunReport") -> None:
        for name in ("claimed", "completed", "failed", "aborted", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _copy_event(copy_id: str, mode: str, name: str, payload: dict | None = None, at: datetime | None = None) -> Event:
    return new_event(resource_type=COPY_TYPE, resource_id=copy_id, mode=mode, name=name, payload=payload, at=at)


def _claim(copy_ids: Sequence[str], now: datetime) -> tuple[list[str], str]:
    """Move the still-pending copies among `copy_ids` to in_progress; returns their ids and the claim token."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        rows = list(
            RecurringOrderCopy.objects.select_for_update(skip_locked=True)
            .filter(id__in=list(copy_ids), status=CopyStatus.PENDING)
            .values_list("id", "mode", "order_subscription_id")
        )
        if not rows:
            return [], token
        claimed = [row[0] for row in rows]
        RecurringOrderCopy.objects.filter(id__in=claimed).update(
            status=CopyStatus.IN_PROGRESS,
            started_at=now,
            claim_token=token,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
        OrderSubscription.objects.filter(id__in={row[2] for row in rows}, status=SubscriptionStatus.ACTIVE).update(
            status=SubscriptionStatus.RUNNING, updated_at=now
        )
        events_record(_copy_event(copy_id, mode, "start", at=now) for copy_id, mode, _ in rows)
    return claimed, token


@dataclass
class _Outcome:
    copy: RecurringOrderCopy
    status: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    order: Order | None = None
    addresses: list[Address] = field(default_factory=list)
    line_items: list[LineItem] = field(default_factory=list)


def _abort_reason(copy: RecurringOrderCopy, now: datetime) -> dict[str, list[str]]:
    """Why this copy must not run any more, re-checked when it runs (the subscription may have changed)."""
    subscription = copy.order_subscription
    if subscription.status not in RUNNABLE_SUBSCRIPTION_STATUSES:
        return {"order_subscription": [f"is {subscription.status}"]}
    run_time = copy.cycle_at or now
    if subscription.expires_at is not None and run_time >= subscription.expires_at:
        return {"order_subscription": ["has expired"]}
    return {}


def _wallet_payment_source(copy: RecurringOrderCopy):
    """The payment source to reuse: the subscription's, else the source order's if it is in the customer's wallet."""
    if not copy.reuse_wallet:
        return None
    subscription = copy.order_subscription
    if subscription.customer_payment_source_id is not None:
        return subscription.customer_payment_source
    source = copy.source_order
    if payment_source_in_wallet(source):
        return source.payment_source
    return None


def _plan(copy: RecurringOrderCopy, items: list[OrderSubscriptionItem], now: datetime) -> _Outcome:
    """Decide one copy's outcome and build its (unsaved) target order. No queries."""
    if abort := _abort_reason(copy, now):
        return _Outcome(copy, CopyStatus.ABORTED, abort)
    subscription, source = copy.order_subscription, copy.source_order
    customer_email = subscription.customer_email or source.customer_email
    errors: dict[str, list[str]] = {}
    if not items:
        errors["order_subscription_items"] = [BLANK]
    if not customer_email:
        errors["customer_email"] = [BLANK]
    if errors:
        return _Outcome(copy, CopyStatus.FAILED, errors)  # nothing is built, so nothing is left behind

    market = subscription.market
    addresses = [address.copy() for address in (source.billing_address, source.shipping_address) if address]
    billing = addresses[0] if source.billing_address else None
    shipping = addresses[-1] if source.shipping_address else None
    payment_source = _wallet_payment_source(copy)
    order = Order(
        mode=copy.mode,
        status=OrderStatus.DRAFT,
        customer_id=subscription.customer_id or source.customer_id,
        customer_email=customer_email,
        market=market,
        currency_code=market.currency_code,
        billing_address=billing,
        shipping_address=shipping,
        payment_source=payment_source,
        order_subscription_id=subscription.pk,
        created_at=now,
        updated_at=now,
    )
    line_items = [
        LineItem(
            mode=copy.mode,
            order=order,
            item_type="skus" if item.sku_code else "bundles",
            sku_code=item.sku_code,
            bundle_code=item.bundle_code,
            name=(item.source_line_item.name if item.source_line_item else "") or item.sku_code or item.bundle_code,
            quantity=item.quantity,
            unit_amount_cents=item.unit_amount_cents,
            total_amount_cents=item.quantity * item.unit_amount_cents,
            currency_code=market.currency_code,
            created_at=now,
            updated_at=now,
        )
        for item in items
    ]
    for name, value in order_totals(line_items).items():
        setattr(order, name, value)
    outcome = _Outcome(copy, CopyStatus.COMPLETED, order=order, addresses=addresses, line_items=line_items)
    if copy.place_target_order:
        outcome.errors = order_placement_errors(
            order=order, line_items=line_items, market=market, payment_source=payment_source, now=now
        )
        if outcome.errors:
            outcome.status = CopyStatus.FAILED  # the draft stays linked so a merchant can fix and place it
        else:
            order.status = OrderStatus.PLACED
            order.placed_at = now
    return outcome


def _build(copy_ids: Sequence[str], token: str, now: datetime) -> RunReport:
    """Build and record the claimed copies in one transaction."""
    report = RunReport()
    with transaction.atomic():
        copies = list(
            RecurringOrderCopy.objects.select_for_update(of=("self",))
            .filter(id__in=list(copy_ids), status=CopyStatus.IN_PROGRESS, claim_token=token)
            .select_related(
                "order_subscription__market",
                "order_subscription__customer_payment_source",
                "source_order__billing_address",
                "source_order__shipping_address",
                "source_order__payment_source",
            )
            .order_by("id")
        )
        report.skipped = len(copy_ids) - len(copies)
        if not copies:
            return report
        items_by_subscription: dict[str, list[OrderSubscriptionItem]] = defaultdict(list)
        for item in (
            OrderSubscriptionItem.objects.filter(
                order_subscription_id__in={copy.order_subscription_id for copy in copies}
            )
            .select_related("source_line_item")
            .order_by("created_at", "id")
        ):
            items_by_subscription[item.order_subscription_id].append(item)

        outcomes = [_plan(copy, items_by_subscription[copy.order_subscription_id], now) for copy in copies]
        built = [outcome for outcome in outcomes if outcome.order is not None]
        for outcome, number in zip(built, next_numbers(ORDER_NUMBERS, len(built)), strict=True):
            outcome.order.number = number
        insert_objects(Address, [address for outcome in built for address in outcome.addresses])
        insert_objects(Order, [outcome.order for outcome in built])
        insert_objects(LineItem, [item for outcome in built for item in outcome.line_items])

        copy_updates = []
        for outcome in outcomes:
            errors_count = sum(len(messages) for messages in outcome.errors.values())
            copy_updates.append((
                outcome.copy.pk,
                outcome.status,
                outcome.errors,
                errors_count,
                outcome.order.pk if outcome.order is not None else None,
                now if outcome.status == CopyStatus.COMPLETED else None,
                now if outcome.status == CopyStatus.FAILED else None,
                now,
            ))  # fmt: skip
            setattr(report, outcome.status, getattr(report, outcome.status) + 1)
        update_rows(
            RecurringOrderCopy,
            ["status", "errors_log", "errors_count", "target_order", "completed_at", "failed_at", "updated_at"],
            copy_updates,
        )
        _record_runs_on_subscriptions(outcomes, now)
        events_record(_outcome_events(outcomes, now))
    report.claimed = len(copies)
    return report


def _record_runs_on_subscriptions(outcomes: Iterable[_Outcome], now: datetime) -> None:
    """Counters, last run and status of each subscription; one UPDATE whatever the batch size."""
    successes: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    last_outcome: dict[str, str] = {}
    for outcome in outcomes:
        subscription_id = outcome.copy.order_subscription_id
        if outcome.status == CopyStatus.COMPLETED:
            successes[subscription_id] += 1
        elif outcome.status == CopyStatus.FAILED:
            failures[subscription_id] += 1
        else:
            continue
        last_outcome[subscription_id] = outcome.status
    update_rows(
        OrderSubscription,
        ["occurrencies", "errors_count", "last_run_at", "succeeded_on_last_run", "updated_at"],
        [
            (subscription_id, successes[subscription_id], failures[subscription_id], now,
             status == CopyStatus.COMPLETED, now)
            for subscription_id, status in last_outcome.items()
        ],
        increment=["occurrencies", "errors_count"],
    )  # fmt: skip
    _end_running({outcome.copy.order_subscription_id for outcome in outcomes}, now)


def _end_running(subscription_ids: Iterable[str], now: datetime) -> None:
    """`running` back to `active` once no copy of the subscription is still in progress."""
    still_running = RecurringOrderCopy.objects.filter(
        order_subscription_id=OuterRef("pk"), status=CopyStatus.IN_PROGRESS
    )
    OrderSubscription.objects.filter(id__in=list(subscription_ids), status=SubscriptionStatus.RUNNING).exclude(
        Exists(still_running)
    ).update(status=SubscriptionStatus.ACTIVE, updated_at=now)


def _outcome_events(outcomes: Iterable[_Outcome], now: datetime) -> list[Event]:
    events = []
    for outcome in outcomes:
        copy = outcome.copy
        name = COPY_EVENT_NAMES[outcome.status]
        payload = {"errors_log": outcome.errors} if outcome.errors else {}
        if outcome.order is not None:
            payload["target_order_id"] = outcome.order.id
        events.append(_copy_event(copy.id, copy.mode, name, payload, at=now))
        if outcome.status != CopyStatus.ABORTED:
            subscription_event = "last_run_succeeded" if outcome.status == CopyStatus.COMPLETED else "last_run_failed"
            payload = {"recurring_order_copy_id": copy.id}
            events.append(build_event(copy.order_subscription, subscription_event, payload, at=now))
    return events


TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def _release(copy_ids: Sequence[str], token: str) -> None:
    """Best effort after a lost database: hand our claimed copies back to `pending` for another run."""
    try:
        connection.close()
        now = timezone.now()
        with transaction.atomic():
            released = RecurringOrderCopy.objects.filter(
                id__in=list(copy_ids), status=CopyStatus.IN_PROGRESS, claim_token=token
            )
            subscription_ids = list(released.values_list("order_subscription_id", flat=True))
            released.update(status=CopyStatus.PENDING, claim_token="", enqueued_at=None, updated_at=now)
            _end_running(subscription_ids, now)
    except DatabaseError:
        logger.warning("could not release copies %s; the recovery sweep will", list(copy_ids))


@transaction.atomic
def _record_unexpected_failure(copy_id: str, token: str, exc: BaseException, now: datetime) -> RunReport:
    copy = (
        RecurringOrderCopy.objects.select_for_update(of=("self",))
        .select_related("order_subscription")
        .filter(id=copy_id, status=CopyStatus.IN_PROGRESS, claim_token=token)
        .first()
    )
    if copy is None:
        return RunReport(skipped=1)
    outcome = _Outcome(
        copy, CopyStatus.FAILED, {"base": [f"unexpected error ({type(exc).__name__}); see the worker log"]}
    )
    copy.status = CopyStatus.FAILED
    copy.failed_at = now
    copy.errors_log = outcome.errors
    copy.errors_count = 1
    copy.save(update_fields=["status", "failed_at", "errors_log", "errors_count"])
    _record_runs_on_subscriptions([outcome], now)
    events_record(_outcome_events([outcome], now))
    return RunReport(claimed=1, failed=1)


def recurring_order_copies_run(copy_ids: Sequence[str], *, now: datetime | None = None) -> RunReport:
    """Run the given copies; any that are not pending any more are left alone. Safe to call twice."""
    now = now or timezone.now()
    claimed, token = _claim(copy_ids, now)
    report = RunReport(skipped=len(copy_ids) - len(claimed))
    if not claimed:
        return report
    try:
        report.add(_build(claimed, token, now))
        return report
    except TRANSIENT_ERRORS:
        _release(claimed, token)
        raise
    except Exception as exc:  # noqa: BLE001 - isolate the bad copy, record it, keep the others
        if len(claimed) == 1:
            logger.exception("recurring order copy %s failed unexpectedly", claimed[0])
            report.add(_fail_or_release(claimed, claimed[0], token, exc, now))
            return report
        logger.warning("batch of %d copies failed (%s); running them one by one", len(claimed), exc)
    for copy_id in claimed:
        try:
            report.add(_build([copy_id], token, now))
        except TRANSIENT_ERRORS:
            _release(claimed, token)
            raise
        except Exception as exc:  # noqa: BLE001
            logger.exception("recurring order copy %s failed unexpectedly", copy_id)
            report.add(_fail_or_release(claimed, copy_id, token, exc, now))
    return report


def _fail_or_release(claimed: Sequence[str], copy_id: str, token: str, exc: BaseException, now: datetime) -> RunReport:
    """Record a bug as the copy's failure; if the database itself is gone, hand the copies back instead."""
    try:
        return _record_unexpected_failure(copy_id, token, exc, now)
    except DatabaseError:
        _release(claimed, token)
        raise


def recurring_order_copy_run(copy_id: str, *, now: datetime | None = None) -> RunReport:
    return recurring_order_copies_run([copy_id], now=now)


# --- Recovery --------------------------------------------------------------------------------


@dataclass
class RecoveryReport:
    returned_to_pending: int = 0
    failed_after_attempts: int = 0
    enqueued: int = 0
    subscriptions_unstuck: int = 0


def recurring_order_copies_recover(
    *,
    now: datetime | None = None,
    pending_age: timedelta = timedelta(minutes=2),
    enqueued_age: timedelta = timedelta(minutes=30),
    stuck_after: timedelta | None = None,
    batch_size: int = 1000,
) -> RecoveryReport:
    """The sweeper: safe to run every minute, and alongside other instances.

    - `in_progress` copies whose worker died (started longer ago than the job timeout) go back
      to `pending`, or fail once they have used up their attempts;
    - `pending` copies never handed to Redis (it was down) after `pending_age`, or handed over
      longer than `enqueued_age` ago while the queue is empty (the job was lost, e.g. Redis
      restarted without persistence), are enqueued again. Enqueuing twice is harmless: only one
      run can claim a copy.
    """
    now = now or timezone.now()
    if stuck_after is None:
        stuck_after = timedelta(seconds=settings.COPY_JOB_TIMEOUT)
    report = RecoveryReport()

    with transaction.atomic():
        stuck = list(
            RecurringOrderCopy.objects.select_for_update(skip_locked=True)
            .filter(status=CopyStatus.IN_PROGRESS, started_at__lt=now - stuck_after)
            .values_list("id", "mode", "attempts", "order_subscription_id")[:batch_size]
        )
        exhausted = [row for row in stuck if row[2] >= settings.COPY_MAX_ATTEMPTS]
        retry = [row[0] for row in stuck if row[2] < settings.COPY_MAX_ATTEMPTS]
        if retry:
            RecurringOrderCopy.objects.filter(id__in=retry).update(
                status=CopyStatus.PENDING, claim_token="", enqueued_at=None, updated_at=now
            )
        if exhausted:
            message = f"did not finish after {settings.COPY_MAX_ATTEMPTS} attempts; see the worker log"
            RecurringOrderCopy.objects.filter(id__in=[row[0] for row in exhausted]).update(
                status=CopyStatus.FAILED, failed_at=now, errors_log={"base": [message]}, errors_count=1, updated_at=now
            )
            OrderSubscription.objects.filter(id__in={row[3] for row in exhausted}).update(
                errors_count=F("errors_count") + 1, last_run_at=now, succeeded_on_last_run=False, updated_at=now
            )
            events_record(
                _copy_event(row[0], row[1], "fail", {"errors_log": {"base": [message]}}, at=now) for row in exhausted
            )
        _end_running({row[3] for row in stuck}, now)
        report.returned_to_pending = len(retry)
        report.failed_after_attempts = len(exhausted)

    from orders.queueing import queue_is_idle

    never_enqueued = Q(enqueued_at__isnull=True, created_at__lt=now - pending_age) | Q(id__in=retry)
    # A job counts as lost only when nothing is waiting in the queue: on a busy 1st of the month a
    # copy may legitimately wait longer than `enqueued_age` behind a million others.
    lost = Q(enqueued_at__lt=now - enqueued_age) if queue_is_idle() else Q(pk__in=[])
    with transaction.atomic():
        waiting = list(
            RecurringOrderCopy.objects.select_for_update(skip_locked=True)
            .filter(Q(status=CopyStatus.PENDING) & (never_enqueued | lost))
            .order_by("created_at")
            .values_list("id", flat=True)[:batch_size]
        )
        if waiting:
            RecurringOrderCopy.objects.filter(id__in=waiting).update(enqueued_at=now)
            enqueue_copies(waiting)
    report.enqueued = len(waiting)

    # A subscription left `running` with no copy in progress (belt and braces).
    in_progress = RecurringOrderCopy.objects.filter(order_subscription_id=OuterRef("pk"), status=CopyStatus.IN_PROGRESS)
    report.subscriptions_unstuck = (
        OrderSubscription.objects.filter(status=SubscriptionStatus.RUNNING, updated_at__lt=now - stuck_after)
        .exclude(Exists(in_progress))
        .update(status=SubscriptionStatus.ACTIVE, updated_at=now)
    )
    return report


# --- Writes for the API: reference fields and deletion -------------------------------------------------

COPY_UPDATABLE = frozenset({"reference", "reference_origin", "metadata"})


@transaction.atomic
def recurring_order_copy_update(copy: RecurringOrderCopy, *, changes: dict) -> RecurringOrderCopy:
    """Only the reference fields and metadata of a copy can change (Commerce Layer)."""
    unknown = set(changes) - COPY_UPDATABLE
    if unknown:
        raise ValidationError({name: ["can't be changed"] for name in sorted(unknown)})
    copy = RecurringOrderCopy.objects.select_for_update().get(pk=copy.pk)
    for name, value in changes.items():
        setattr(copy, name, value)
    copy.save(update_fields=[*changes, "updated_at"])
    return copy


@transaction.atomic
def recurring_order_copy_delete(copy: RecurringOrderCopy) -> None:
    """A copy that a worker is building cannot be deleted; any other can (its target order stays)."""
    copy = RecurringOrderCopy.objects.select_for_update().get(pk=copy.pk)
    if copy.status == CopyStatus.IN_PROGRESS:
        raise ValidationError({"status": ["is in_progress: a running copy can't be deleted"]})
    event_record(copy, "destroy")
    copy.delete()
