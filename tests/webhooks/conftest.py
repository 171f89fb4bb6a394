"""Webhook tests: a real receiver on loopback, short timeouts, deliveries made in the calling thread."""

import pytest

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
