"""Fixtures for API tests: credentials, tokens from /oauth/token, and JSON:API clients that use them."""

import uuid
from functools import lru_cache

import orjson
import pytest
from django.test import Client

from api.services import api_credential_create

JSONAPI = "application/vnd.api+json"


@lru_cache(maxsize=1)
def _test_signing_key() -> str:
    """One RSA key per test session (making one per test would cost ~50 ms each)."""
    from api.auth.tokens import _generate_pem

    return _generate_pem()


@pytest.fixture(autouse=True)
def api_settings(settings):
    settings.API_JWT_PRIVATE_KEY = _test_signing_key()
    settings.API_BASE_URL = "http://testserver"
    # Client secrets are hashed like passwords; the fast hasher keeps each token request cheap in tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Counters of one test never leak into another (with Redis they would otherwise persist).
    settings.API_RATE_LIMIT_PREFIX = f"test-ratelimit:{uuid.uuid4().hex}"
    return settings


class ApiClient:
    """Speaks JSON:API to the app with a bearer token; `.json` on responses is the decoded body."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, extra: dict | None) -> dict:
        headers = {"HTTP_ACCEPT": JSONAPI}
        if self.token:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for key, value in (extra or {}).items():
            headers[key] = value
        return headers

    @staticmethod
    def _decorate(response):
        response.json_body = orjson.loads(response.content) if response.content else None
        return response

    def get(self, path: str, params: dict | None = None, **headers):
        return self._decorate(self.client.get(path, params or {}, **self._headers(headers)))

    def post(self, path: str, body, content_type: str = JSONAPI, **headers):
        data = body if isinstance(body, str | bytes) else orjson.dumps(body)
        return self._decorate(self.client.post(path, data, content_type=content_type, **self._headers(headers)))

    def patch(self, path: str, body, content_type: str = JSONAPI, **headers):
        data = body if isinstance(body, str | bytes) else orjson.dumps(body)
        return self._decorate(self.client.patch(path, data, content_type=content_type, **self._headers(headers)))

    def delete(self, path: str, **headers):
        return self._decorate(self.client.delete(path, **self._headers(headers)))


def fetch_token(client_id: str, client_secret: str) -> str:
    response = Client().post(
        "/oauth/token",
        orjson.dumps({"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return orjson.loads(response.content)["access_token"]


@pytest.fixture
def issue_credential(db):
    def issue(*, mode: str = "test", kind: str = "integration", name: str = "Integration"):
        return api_credential_create(name=name, kind=kind, mode=mode)

    return issue


@pytest.fixture
def test_credential(issue_credential):
    return issue_credential(mode="test")


@pytest.fixture
def live_credential(issue_credential):
    return issue_credential(mode="live", name="Live integration")


@pytest.fixture
def api(test_credential) -> ApiClient:
    """A client holding a test-mode integration token obtained from /oauth/token."""
    client = ApiClient(fetch_token(test_credential.client_id, test_credential.client_secret))
    client.credential = test_credential
    return client


@pytest.fixture
def live_api(live_credential) -> ApiClient:
    return ApiClient(fetch_token(live_credential.client_id, live_credential.client_secret))


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient(None)
