"""Handing deliveries to whoever makes the HTTP calls, never the caller's own thread.

With Redis, each delivery is an RQ job on `settings.WEBHOOK_QUEUE`. Without Redis (inline mode,
`make run`) jobs would run in the process that recorded the event, right after its commit: for a
webhook that would make an API request, a scheduler tick or a copy wait for the receiver. So in
inline mode deliveries go to a small pool of background threads instead (decision W4).

Nothing is lost if a hand-off fails or the process dies: the delivery is a row, and the retry sweep
hands pending rows over again.
"""

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.db import connections

from orders.queueing import enqueue_now

logger = logging.getLogger(__name__)

# Deliveries waiting in the inline pool at most; beyond that the sweep picks them up later.
MAX_INLINE_BACKLOG = 1000

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_flight: set[Future] = set()


def _inline_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, settings.WEBHOOK_INLINE_THREADS), thread_name_prefix="webhook-delivery"
            )
        return _pool


def _deliver_in_background(delivery_id: str) -> None:
    from webhooks.delivery import webhook_delivery_attempt

    try:
        webhook_delivery_attempt(delivery_id)
    except Exception:  # noqa: BLE001 - a background thread has nobody to raise to
        logger.exception("webhook delivery %s failed unexpectedly", delivery_id)
    finally:
        # This thread's own database connection; the pool thread may idle for hours.
        connections.close_all()


def deliveries_hand_off(delivery_ids: Sequence[str]) -> int:
    """Start delivering `delivery_ids` elsewhere; returns how many were handed over."""
    if not delivery_ids:
        return 0
    if not settings.JOBS_INLINE:
        from webhooks.jobs import deliver_webhook

        job_timeout = int(settings.WEBHOOK_TIMEOUT * 2) + 30
        handed = enqueue_now(
            deliver_webhook, [(delivery_id,) for delivery_id in delivery_ids], queue=settings.WEBHOOK_QUEUE,
            timeout=job_timeout, result_ttl=3600, failure_ttl=7 * 86400,
        )  # fmt: skip
        return len(delivery_ids) if handed else 0
    if settings.WEBHOOK_INLINE_THREADS <= 0:
        # Same thread, one after the other: for tests that want deliveries to be done when the call returns.
        from webhooks.delivery import webhook_delivery_attempt

        for delivery_id in delivery_ids:
            try:
                webhook_delivery_attempt(delivery_id)
            except Exception:  # noqa: BLE001 - as in a worker: logged, never raised into the caller
                logger.exception("webhook delivery %s failed unexpectedly", delivery_id)
        return len(delivery_ids)
    pool = _inline_pool()
    handed = 0
    for delivery_id in delivery_ids:
        if len(_in_flight) >= MAX_INLINE_BACKLOG:
            logger.warning("webhook backlog full: %d deliveries left to the retry sweep", len(delivery_ids) - handed)
            break
        future = pool.submit(_deliver_in_background, delivery_id)
        _in_flight.add(future)
        future.add_done_callback(_in_flight.discard)
        handed += 1
    return handed


def wait_for_inline_deliveries(timeout: float = 10.0) -> bool:
    """Block until the background deliveries handed over so far are done (tests, shutdown); True if all are."""
    done, not_done = wait(list(_in_flight), timeout=timeout)
    return not not_done
