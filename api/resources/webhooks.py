"""webhooks and event_callbacks (facts sheet §10); the logic lives in `webhooks.services`."""

from api.registry import ARRAY, DATETIME, INTEGER, OBJECT, STRING, Attr, Rel, ResourceSpec, Trigger, register
from api.resources.common import ID, fired, standard_fields
from webhooks import services
from webhooks.models import CircuitState, EventCallback, Webhook, WebhookTopic


def create_webhook(context, attributes, relationships, triggers):
    return services.webhook_create(mode=context.mode, disabled=fired(triggers, "_disable"), **attributes)


def update_webhook(context, webhook, attributes, relationships, triggers):
    if attributes:
        webhook = services.webhook_update(webhook, changes=attributes)
    if fired(triggers, "_disable"):
        webhook = services.webhook_disable(webhook)
    if fired(triggers, "_enable"):
        webhook = services.webhook_enable(webhook)
    if fired(triggers, "_reset_circuit"):
        webhook = services.webhook_reset_circuit(webhook)
    return webhook


def delete_webhook(context, webhook):
    services.webhook_delete(webhook)


WEBHOOKS = register(
    ResourceSpec(
        type="webhooks",
        model=Webhook,
        description="Calls callback_url with the resource's document, signed, each time an event of its topic "
        "happens in its mode.",
        actions=frozenset({"list", "retrieve", "create", "update", "delete"}),
        attributes=(
            ID,
            Attr(
                "name", STRING, "CUF", nullable=False, max_length=255, description="Unique; 'Webhook {id}' if omitted."
            ),
            Attr("topic", STRING, "CUF", required=True, nullable=False, enum=tuple(WebhookTopic.values)),
            Attr(
                "callback_url",
                STRING,
                "CU",
                required=True,
                nullable=False,
                max_length=2048,
                description="http(s); private, loopback and link-local addresses are refused.",
            ),  # fmt: skip
            Attr("include_resources", ARRAY, "CU", description="Include paths for the document sent, e.g. market."),
            Attr("shared_secret", STRING, description="Signs each call: X-CommerceLayer-Signature. Read-only."),
            Attr("disabled_at", DATETIME, "FS"),
            Attr("circuit_state", STRING, "FS", enum=tuple(CircuitState.values)),
            Attr("circuit_failure_count", INTEGER, "FS", description="Consecutive failed calls."),
            *standard_fields(),
        ),
        relationships=(
            Rel(
                "last_event_callbacks",
                "event_callbacks",
                many=True,
                reverse="last_of_webhook_id",
                description="The newest calls (the full history is /api/event_callbacks).",
            ),  # fmt: skip
            Rel("versions", "versions", many=True, empty=True, description="Not kept; always empty."),
        ),
        triggers=(
            Trigger("_disable", flags="CU", description="Stops calls; sets disabled_at."),
            Trigger("_enable", flags="CU", description="Resumes calls; clears disabled_at."),
            Trigger("_reset_circuit", description="Closes the circuit and zeroes circuit_failure_count."),
        ),
        create=create_webhook,
        update=update_webhook,
        delete=delete_webhook,
    )
)

EVENT_CALLBACKS = register(
    ResourceSpec(
        type="event_callbacks",
        model=EventCallback,
        description="One call of a webhook: what was sent and what the receiver answered.",
        actions=frozenset({"list", "retrieve"}),
        attributes=(
            ID,
            Attr("callback_url", STRING, "F"),
            Attr("payload", OBJECT, description="The document sent."),
            Attr("response_code", STRING, "FS", description="The HTTP status, e.g. '200'; null if none came."),
            Attr("response_message", STRING, "FS"),
            *standard_fields(),
        ),
        relationships=(Rel("webhook", "webhooks", column="webhook_id", flags="FS", required=True),),
    )
)
