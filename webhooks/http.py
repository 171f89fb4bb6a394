"""The signed POST to a callback URL, and what it answered.

Receivers verify `X-CommerceLayer-Signature`: Base64 of HMAC-SHA256 over the raw body, keyed with
the webhook's shared secret. Nothing here raises: every way a call can go wrong (refused address,
timeout, refused connection, TLS error, a 500) comes back as a `CallResult`.
"""

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from webhooks.addresses import RefusedAddress, callback_url_errors, check_connected_peer

SIGNATURE_HEADER = "X-CommerceLayer-Signature"
USER_AGENT = "subscription-backoffice-webhooks/1"


def sign(body: bytes, shared_secret: str) -> str:
    """Base64(HMAC-SHA256(body, shared_secret)), as Commerce Layer signs its callbacks."""
    digest = hmac.new(shared_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class CallResult:
    succeeded: bool
    response_code: str | None  # "200", "500"; None when no HTTP answer came back
    response_message: str


# --- connections that check the address they reached ------------------------------------------


class _CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self):
        sock = super()._new_conn()
        try:
            check_connected_peer(sock)
        except RefusedAddress:
            sock.close()
            raise
        return sock


class _CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self):
        sock = super()._new_conn()
        try:
            check_connected_peer(sock)
        except RefusedAddress:
            sock.close()
            raise
        return sock


class _CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPConnectionPool,
            "https": _CheckedHTTPSConnectionPool,
        }


def _session() -> requests.Session:
    session = requests.Session()
    # No proxies, .netrc or CA bundles from the environment: the connection goes where we checked.
    session.trust_env = False
    adapter = _CheckedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- the call ----------------------------------------------------------------------------------


def _short(text: str, limit: int = 255) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def post_signed(url: str, body: bytes, *, shared_secret: str, timeout: float) -> CallResult:
    """POST `body` to `url`, signed; a 2xx within `timeout` seconds is a success, anything else is not.

    Redirects are not followed (a 3xx is a failure): following one would call an address nobody checked.
    """
    problems = callback_url_errors(url)
    if problems:
        return CallResult(False, None, _short(f"Refused: callback_url {problems[0]}"))
    headers = {
        "Content-Type": "application/vnd.api+json",
        "Accept": "*/*",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(body, shared_secret),
    }
    started = time.monotonic()
    try:
        with _session() as session:
            response = session.post(
                url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
            )
            # The body of the answer is never read: only its status matters.
            response.close()
    except RefusedAddress as exc:
        return CallResult(False, None, _short(f"Refused: {exc}"))
    except requests.Timeout:
        return CallResult(False, None, f"Timeout: no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return CallResult(False, None, _short(f"{type(exc).__name__}: {_root_cause(exc)}"))
    elapsed = time.monotonic() - started
    code = str(response.status_code)
    message = _short(response.reason or "")
    if elapsed > timeout:
        # Each read waited less than the timeout, but the answer as a whole came too late.
        return CallResult(False, code, f"Timeout: answered after {elapsed:.1f} s")
    return CallResult(200 <= response.status_code < 300, code, message)


def _root_cause(exc: BaseException) -> str:
    """The innermost reason ("Connection refused"), not urllib3's long wrapper chain."""
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or inner is exc:
            break
        exc = inner
    if isinstance(exc, RefusedAddress):
        return str(exc)
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__
