"""Webhook tests: a real receiver on loopback, short timeouts, deliveries made in the calling thread."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone as django_timezone

from tests.api.conftest import api, api_settings, issue_credential, live_api, live_credential, test_credential  # noqa: F401
from tests.webhooks.receiver import Receiver


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the receiver is on loopback
    settings.WEBHOOK_TIMEOUT = 1.0
    settings.WEBHOOK_INLINE_THREADS = 0  # done by the time the triggering call returns (unless a test says so)
    settings.API_BASE_URL = "http://testserver"
    return settings


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


class Clock:
    """The time webhook deliveries see: real time shifted by `offset`, so retries hours away come due
    without waiting (the receiver, sockets and timeouts keep real time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return django_timezone.now() + self.offset

    def travel_to(self, moment: datetime) -> None:
        self.offset = moment - django_timezone.now()

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    from webhooks import delivery

    shifted = Clock()
    monkeypatch.setattr(delivery, "timezone", shifted)
    return shifted


@pytest.fixture
def sweep(django_capture_on_commit_callbacks, clock):
    """The scheduler tick's webhook sweep at the clock's time; what it hands over is delivered before it returns."""
    from webhooks.delivery import webhook_deliveries_requeue

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            return webhook_deliveries_requeue()

    return run
