"""Webhook services: create, update, disable/enable, reset the circuit, delete.

Every interface (the API's `webhooks` resource, the admin) goes through these; the database keeps
topic, circuit state and name uniqueness right even if something did not.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from orders.base import generate_id
from webhooks.addresses import callback_url_errors
from webhooks.models import CircuitState, Webhook, WebhookTopic
from webhooks.payloads import include_errors

REFERENCE_FIELDS = frozenset({"reference", "reference_origin", "metadata"})
UPDATABLE_FIELDS = frozenset({"name", "topic", "callback_url", "include_resources"}) | REFERENCE_FIELDS
MAX_INCLUDE_RESOURCES = 20


def topic_resource_type(topic: str) -> str:
    return topic.split(".", 1)[0]


def _normalised_includes(include_resources: Sequence[str] | None) -> list[str]:
    # Order kept, duplicates dropped: the list becomes the `include` parameter of the document.
    return list(dict.fromkeys(include_resources or ()))


def webhook_errors(
    *, topic: str, callback_url: str, include_resources: Sequence[str], check_url: bool = True
) -> dict[str, list[str]]:
    """What is wrong with a webhook's topic, callback URL and includes, per attribute (empty when nothing)."""
    errors: dict[str, list[str]] = {}
    if topic not in WebhookTopic.values:
        errors["topic"] = ["is not included in the list"]
    if check_url and (problems := callback_url_errors(callback_url or "")):
        errors["callback_url"] = problems
    if len(include_resources) > MAX_INCLUDE_RESOURCES:
        errors["include_resources"] = [f"has too many entries (maximum is {MAX_INCLUDE_RESOURCES})"]
    elif "topic" not in errors and (problems := include_errors(topic_resource_type(topic), include_resources)):
        errors["include_resources"] = problems
    return errors


def _check_name_free(mode: str, name: str, webhook_id: str | None = None) -> None:
    taken = Webhook.objects.filter(mode=mode, name=name)
    if webhook_id is not None:
        taken = taken.exclude(pk=webhook_id)
    if taken.exists():
        raise ValidationError({"name": ["has already been taken"]})


@transaction.atomic
def webhook_create(
    *,
    mode: str,
    topic: str,
    callback_url: str,
    name: str | None = None,
    include_resources: Sequence[str] | None = None,
    disabled: bool = False,
    **reference_fields: Any,
) -> Webhook:
    """A new webhook with a freshly generated shared secret; `disabled` creates it switched off."""
    unknown = set(reference_fields) - REFERENCE_FIELDS
    if unknown:
        raise ValidationError({field: ["can't be set"] for field in sorted(unknown)})
    include_resources = _normalised_includes(include_resources)
    reference_fields["metadata"] = reference_fields.get("metadata") or {}
    if errors := webhook_errors(topic=topic, callback_url=callback_url, include_resources=include_resources):
        raise ValidationError(errors)
    webhook_id = generate_id()
    webhook = Webhook(
        id=webhook_id,
        mode=mode,
        name=name or f"Webhook {webhook_id}",  # Commerce Layer's default name
        topic=topic,
        callback_url=callback_url,
        include_resources=include_resources,
        disabled_at=timezone.now() if disabled else None,
        **reference_fields,
    )
    _check_name_free(mode, webhook.name)
    webhook.full_clean()
    webhook.save(force_insert=True)
    return webhook


@transaction.atomic
def webhook_update(webhook: Webhook, *, changes: dict[str, Any]) -> Webhook:
    """Change name, topic, callback URL, includes or the reference fields; the secret never changes."""
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({field: ["can't be changed"] for field in sorted(unknown)})
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    changes = dict(changes)
    if "include_resources" in changes:
        changes["include_resources"] = _normalised_includes(changes["include_resources"])
    if "metadata" in changes and changes["metadata"] is None:
        changes["metadata"] = {}
    topic = changes.get("topic", webhook.topic)
    callback_url = changes.get("callback_url", webhook.callback_url)
    include_resources = changes.get("include_resources", webhook.include_resources)
    errors = webhook_errors(
        topic=topic,
        callback_url=callback_url,
        include_resources=include_resources,
        # An unchanged URL is not resolved again: a receiver whose DNS is briefly down must not block a rename.
        check_url="callback_url" in changes and callback_url != webhook.callback_url,
    )
    if errors:
        raise ValidationError(errors)
    if changes.get("name") is not None:
        _check_name_free(webhook.mode, changes["name"], webhook.pk)
    changed = [field for field, value in changes.items() if getattr(webhook, field) != value]
    for field in changed:
        setattr(webhook, field, changes[field])
    if changed:
        webhook.full_clean()
        webhook.save(update_fields=changed)
    return webhook


@transaction.atomic
def webhook_disable(webhook: Webhook, *, now: datetime | None = None) -> Webhook:
    """Stop calling it: new events are not delivered, pending retries are skipped. Already disabled: no change."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if webhook.disabled_at is None:
        webhook.disabled_at = now or timezone.now()
        webhook.save(update_fields=["disabled_at"])
    return webhook


@transaction.atomic
def webhook_enable(webhook: Webhook) -> Webhook:
    """Deliver events again (from now on: events that happened while disabled are not replayed)."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if webhook.disabled_at is not None:
        webhook.disabled_at = None
        webhook.save(update_fields=["disabled_at"])
    return webhook


@transaction.atomic
def webhook_reset_circuit(webhook: Webhook) -> Webhook:
    """Close the circuit and forget the failures, so calls resume with the next event."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if webhook.circuit_state != CircuitState.CLOSED or webhook.circuit_failure_count:
        webhook.circuit_state = CircuitState.CLOSED
        webhook.circuit_failure_count = 0
        webhook.save(update_fields=["circuit_state", "circuit_failure_count"])
    return webhook


@transaction.atomic
def webhook_delete(webhook: Webhook) -> None:
    """Deletes its callbacks and deliveries too; a call in flight finds nothing to record."""
    # Locked first, as a delivery recording its call locks it: neither can slip a row in under the other.
    if Webhook.objects.select_for_update().filter(pk=webhook.pk).exists():
        Webhook.objects.filter(pk=webhook.pk).delete()
