"""Building webhooks and checking what a receiver got, the way a Commerce Layer receiver would."""

import base64
import hashlib
import hmac

import orjson

from tests.webhooks.receiver import ReceivedCall
from webhooks.models import Webhook
from webhooks.services import webhook_create


def make_webhook(topic: str, url: str, *, mode: str = "test", include=(), **fields) -> Webhook:
    return webhook_create(mode=mode, topic=topic, callback_url=url, include_resources=list(include), **fields)


def header(call: ReceivedCall, name: str) -> str | None:
    return next((value for key, value in call.headers.items() if key.lower() == name.lower()), None)


def signature_is_valid(call: ReceivedCall, shared_secret: str) -> bool:
    """The documented check: Base64(HMAC-SHA256(raw body, shared secret)) equals the header."""
    expected = base64.b64encode(hmac.new(shared_secret.encode(), call.body, hashlib.sha256).digest()).decode()
    received = header(call, "X-CommerceLayer-Signature") or ""
    return hmac.compare_digest(expected, received)


def document(call: ReceivedCall) -> dict:
    return orjson.loads(call.body)
