"""What every API-visible resource shares: a Commerce Layer style id, timestamps,
reference fields, metadata and the test/live mode."""

import secrets
import string

from django.db import models
from django.db.models import Q
from django.utils import timezone

ID_ALPHABET = string.ascii_letters
ID_LENGTH = 10


_UNBIASED_BYTE_LIMIT = 256 - 256 % len(ID_ALPHABET)  # bytes below this map evenly onto the alphabet


def generate_id() -> str:
    """A 10-character random mixed-case letter id, like `xYZkjABcde` (cryptographically random, unbiased)."""
    while True:
        letters = [
            ID_ALPHABET[byte % len(ID_ALPHABET)] for byte in secrets.token_bytes(16) if byte < _UNBIASED_BYTE_LIMIT
        ]
        if len(letters) >= ID_LENGTH:
            return "".join(letters[:ID_LENGTH])


class Mode(models.TextChoices):
    TEST = "test", "Test"
    LIVE = "live", "Live"


def choices_constraint(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    """A check constraint that keeps `field` inside its declared choices."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


# Shared by every resource; `%(class)s` keeps the constraint names distinct per table.
MODE_CONSTRAINT = models.CheckConstraint(condition=Q(mode__in=Mode.values), name="%(app_label)s_%(class)s_mode_valid")


class Resource(models.Model):
    id = models.CharField(primary_key=True, max_length=ID_LENGTH, default=generate_id, editable=False)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.TEST)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    reference = models.CharField(max_length=255, null=True, blank=True)
    reference_origin = models.CharField(max_length=255, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
        constraints = [MODE_CONSTRAINT]

    def save(self, *args, **kwargs):
        # Keeping updated_at current is bookkeeping, not business logic.
        self.updated_at = timezone.now()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "updated_at"}
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.id
