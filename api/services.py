"""API credential services: creating (id and secret) and revoking credentials."""

from dataclasses import dataclass

from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_application_model

from api.models import ApiCredential, CredentialKind


@dataclass(frozen=True)
class IssuedCredential:
    credential: ApiCredential
    client_id: str
    client_secret: str  # shown once: only its hash is stored


@transaction.atomic
def api_credential_create(*, name: str, kind: str = CredentialKind.INTEGRATION, mode: str = "test") -> IssuedCredential:
    """A credential with a new client id and secret; integrations are confidential, sales channels public."""
    Application = get_application_model()
    secret = generate_client_secret()
    public = kind == CredentialKind.SALES_CHANNEL
    application = Application(
        name=name,
        client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    application.full_clean(exclude=["user", "redirect_uris", "post_logout_redirect_uris", "allowed_origins"])
    application.save()
    credential = ApiCredential(name=name, kind=kind, mode=mode, application=application)
    credential.full_clean()
    credential.save()
    return IssuedCredential(credential, application.client_id, "" if public else secret)


@transaction.atomic
def api_credential_revoke_tokens(credential: ApiCredential) -> int:
    """Revoke every access token of a credential at once (e.g. after a leak); returns how many."""
    deleted, _ = get_access_token_model().objects.filter(application_id=credential.application_id).delete()
    return deleted
