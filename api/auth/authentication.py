"""Bearer-token authentication for `/api/`: a valid, unrevoked access token, and the mode it carries."""

from dataclasses import dataclass

from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework import authentication

from api.auth.tokens import TokenInvalid, token_checksum, verify_access_token
from api.conventions.errors import InvalidToken


@dataclass(frozen=True)
class ApiClient:
    """Who is calling: stands in for `request.user`; `request.auth` is the same object."""

    credential_id: str
    client_id: str
    kind: str
    mode: str
    scope: str
    name: str = ""

    is_authenticated = True
    is_anonymous = False

    @property
    def actor(self) -> dict:
        """`who` of the events this request causes (decision D15)."""
        return {
            "kind": "api",
            "application_id": self.credential_id,
            "client_id": self.client_id,
            "credential": self.name,
        }


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != self.keyword or not token:
            raise InvalidToken()
        try:
            claims = verify_access_token(token)
        except TokenInvalid:
            raise InvalidToken() from None
        # One indexed lookup: the token must still be stored (revoking or deleting a credential removes it).
        stored = (
            get_access_token_model()
            .objects.filter(token_checksum=token_checksum(token), expires__gt=timezone.now())
            .values_list("id", "application__api_credential__name")
            .first()
        )
        if stored is None:
            raise InvalidToken()
        application = claims["application"]
        client = ApiClient(
            credential_id=str(application.get("id", "")),
            client_id=str(application.get("client_id", "")),
            kind=str(application.get("kind", "")),
            mode="test" if claims["test"] else "live",
            scope=str(claims.get("scope", "")),
            name=stored[1] or "",
        )
        return client, client

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
