"""API credentials (who may ask for access tokens) and the keys that sign those tokens."""

from django.db import models
from django.utils import timezone

from orders.base import Mode, generate_id


class CredentialKind(models.TextChoices):
    INTEGRATION = "integration", "Integration"
    SALES_CHANNEL = "sales_channel", "Sales channel"


# Commerce Layer's token lifetimes per kind of application (facts sheet §8).
TOKEN_LIFETIMES = {CredentialKind.INTEGRATION: 2 * 3600, CredentialKind.SALES_CHANNEL: 4 * 3600}


class ApiCredential(models.Model):
    """An API client: a name, a kind and a mode, backed by an OAuth2 application that holds id and secret.

    The mode is fixed per credential, as in Commerce Layer where test and live credentials are distinct:
    every token it gets sees only that mode's data.
    """

    id = models.CharField(primary_key=True, max_length=10, default=generate_id, editable=False)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=CredentialKind.choices, default=CredentialKind.INTEGRATION)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.TEST)
    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="api_credential", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API credential"
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=Mode.values), name="api_credential_mode_valid"),
            models.CheckConstraint(
                condition=models.Q(kind__in=CredentialKind.values), name="api_credential_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.mode})"

    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def token_lifetime(self) -> int:
        return TOKEN_LIFETIMES[self.kind]


class SigningKey(models.Model):
    """An RSA private key that signs access tokens; the newest one signs, all of them verify."""

    kid = models.CharField(primary_key=True, max_length=64)
    private_key_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid
