"""`/oauth/token` and `/oauth/revoke` on django-oauth-toolkit, answering as Commerce Layer's auth API does.

django-oauth-toolkit does the OAuth2 work (client authentication, grant checks, storing and revoking
tokens); this module only plugs in the JWT generator, per-credential lifetimes, JSON bodies, and
Commerce Layer's response and error shapes.
"""

import json
import time

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider import views as oauth_views
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2 import Server

from api import ratelimit
from api.auth.tokens import DEFAULT_SCOPE, issue_access_token

DEFAULT_LIFETIME = 2 * 3600


def _credential(oauth_request):
    application = oauth_request.client
    return getattr(application, "api_credential", None) if application is not None else None


def token_lifetime(oauth_request) -> int:
    credential = _credential(oauth_request)
    return credential.token_lifetime if credential is not None else DEFAULT_LIFETIME


def generate_access_token(oauth_request, refresh_token: bool = False) -> str:
    credential = _credential(oauth_request)
    scope = " ".join(oauth_request.scopes or [DEFAULT_SCOPE])
    return issue_access_token(credential=credential, scope=scope, lifetime=token_lifetime(oauth_request))


class ApiOAuthServer(Server):
    """oauthlib's server with our JWT generator and each credential's own token lifetime."""

    def __init__(self, request_validator, **kwargs):
        kwargs["token_generator"] = generate_access_token
        kwargs["token_expires_in"] = token_lifetime
        super().__init__(request_validator, **kwargs)


class ApiOAuth2Validator(OAuth2Validator):
    def _load_application(self, client_id, request):
        # A client id PostgreSQL cannot even compare (NUL) or far too long is simply unknown.
        if not isinstance(client_id, str) or "\x00" in client_id or len(client_id) > 255:
            return None
        return super()._load_application(client_id, request)

    def authenticate_client(self, request, *args, **kwargs):
        if super().authenticate_client(request, *args, **kwargs):
            return _credential(request) is not None
        # Sales channels are public clients: Commerce Layer lets them authenticate with client_id only.
        application = getattr(request, "client", None) or self._load_application(request.client_id, request)
        credential = _credential(request) if application is not None else None
        return (
            credential is not None
            and credential.kind == "sales_channel"
            and request.grant_type == "client_credentials"
            and not getattr(request, "client_secret", None)
        )


class JsonOrFormOAuthLibCore(OAuthLibCore):
    """Reads the token request from a JSON body (what Commerce Layer's clients send) or a form body."""

    def extract_body(self, request):
        if request.content_type == "application/json":
            try:
                body = json.loads(request.body.decode("utf-8") or "{}")
            except (ValueError, UnicodeDecodeError):
                return []
            if not isinstance(body, dict):
                return []
            return [(str(key), "" if value is None else str(value)) for key, value in body.items()]
        return super().extract_body(request)


# oauthlib error → (HTTP status, Commerce Layer code)
AUTH_ERROR_CODES = {
    "invalid_client": (401, "UNAUTHORIZED"),
    "unauthorized_client": (401, "UNAUTHORIZED"),
    "invalid_grant": (400, "BAD_REQUEST"),
    "unsupported_grant_type": (400, "BAD_REQUEST"),
    "invalid_scope": (400, "BAD_REQUEST"),
    "invalid_request": (400, "BAD_REQUEST"),
    "too_many_requests": (429, "TOO_MANY_REQUESTS"),
}


def auth_error_response(error: str, description: str, status: int | None = None) -> HttpResponse:
    default_status, code = AUTH_ERROR_CODES.get(error, (400, "BAD_REQUEST"))
    status = status or default_status
    body = {"errors": [{"code": code, "title": error, "detail": description, "status": status}]}
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def _convert(response: HttpResponse, *, created_at: int) -> HttpResponse:
    """Rewrite django-oauth-toolkit's answer into Commerce Layer's shape."""
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        body = {}
    if response.status_code == 200:
        if "access_token" in body:
            body["token_type"] = "bearer"
            body["created_at"] = created_at
        converted = HttpResponse(orjson.dumps(body), status=200, content_type="application/json")
        converted["Cache-Control"] = "no-store"
        return converted
    error = body.get("error", "invalid_request")
    description = body.get("error_description") or {
        "invalid_client": "Client authentication failed due to unknown client, no client authentication "
        "included, or unsupported authentication method.",
        "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
        "unauthorized_client": "The client is not authorized to use this grant type.",
        "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    }.get(error, "The request is missing a required parameter or is otherwise malformed.")
    return auth_error_response(error, description, 401 if response.status_code == 401 else None)


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(oauth_views.TokenView):
    """POST /oauth/token (client_credentials, JSON or form body); 30 requests a minute per IP."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        decision = ratelimit.check_token_endpoint(_client_ip(request))
        if not decision.allowed:
            response = auth_error_response("too_many_requests", "Too many requests, retry later.", 429)
        else:
            response = _convert(super().post(request, *args, **kwargs), created_at=int(time.time()))
        ratelimit.add_headers(response, decision)
        return response


@method_decorator(csrf_exempt, name="dispatch")
class RevokeTokenView(oauth_views.RevokeTokenView):
    """POST /oauth/revoke with client_id, client_secret and token: the token stops working at once."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            return HttpResponse(b"{}", status=200, content_type="application/json")
        return _convert(response, created_at=0)
