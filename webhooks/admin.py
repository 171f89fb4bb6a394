"""The back-office for webhooks: create and edit them, switch them off and on, reset a tripped circuit,
and read what each call answered.

Writes go through `webhooks.services`; the form only runs the same checks early, so a refused
callback URL is shown next to the field instead of after the save.
"""

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from orders.admin_support import (
    BackOfficeAdmin,
    admin_link,
    apply_to_each,
    pretty_json,
    redirect_to_report,
    short_moment,
    status_badge,
)
from webhooks import services
from webhooks.models import CircuitState, DeliveryStatus, EventCallback, Webhook, WebhookDelivery


def _include_list(text: str) -> list[str]:
    return [path.strip() for path in (text or "").split(",") if path.strip()]


class WebhookForm(forms.ModelForm):
    include_resources = forms.CharField(
        required=False,
        help_text="Relationships to include in the document sent, comma-separated (e.g. market, customer).",
    )

    class Meta:
        model = Webhook
        fields = ("name", "mode", "topic", "callback_url", "include_resources", "reference", "reference_origin")
        widgets = {"callback_url": forms.URLInput(attrs={"size": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = "Unique; 'Webhook {id}' when left empty."
        if self.instance.pk:
            self.initial["include_resources"] = ", ".join(self.instance.include_resources or [])
            # The mode of an existing webhook is part of its identity, as for every resource.
            self.fields["mode"].disabled = True

    def clean_include_resources(self) -> list[str]:
        return _include_list(self.cleaned_data.get("include_resources", ""))

    def clean(self):
        cleaned = super().clean()
        url_changed = not self.instance.pk or cleaned.get("callback_url") != self.instance.callback_url
        errors = services.webhook_errors(
            topic=cleaned.get("topic") or "",
            callback_url=cleaned.get("callback_url") or "",
            include_resources=cleaned.get("include_resources") or [],
            check_url=url_changed,
        )
        for field, problems in errors.items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, problems)
        return cleaned

    def _post_clean(self):
        # The services validate and save; the model's own full_clean would only repeat it with Django's wording.
        pass


class LastCallbacksInline(admin.TabularInline):
    model = EventCallback
    fk_name = "last_of_webhook"
    verbose_name_plural = "last event callbacks"
    fields = ("created", "response", "attempt", "callback_url")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="at")
    def created(self, callback: EventCallback):
        return short_moment(callback.created_at)

    @admin.display(description="answer")
    def response(self, callback: EventCallback):
        return response_badge(callback)


def response_badge(callback: EventCallback):
    text = " ".join(part for part in (callback.response_code, callback.response_message) if part) or "no answer"
    return status_badge("completed" if callback.succeeded else "failed", text)


@admin.register(Webhook)
class WebhookAdmin(BackOfficeAdmin):
    form = WebhookForm
    list_display = ("name", "topic", "callback_url", "mode", "enabled", "circuit", "circuit_failure_count")
    list_filter = ("topic", "circuit_state", ("disabled_at", admin.EmptyFieldListFilter), "mode")
    search_fields = ("=id", "name", "callback_url")
    ordering = ("name",)
    readonly_fields = ("id", "shared_secret", "disabled_at", "circuit_state", "circuit_failure_count", "created_at",
                       "updated_at")  # fmt: skip
    inlines = (LastCallbacksInline,)
    actions = ("disable_selected", "enable_selected", "reset_circuit_selected")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ("name", "mode", "topic", "callback_url", "include_resources")}),
            ("Reference", {"fields": ("reference", "reference_origin"), "classes": ("collapse",)}),
        ]
        if obj is not None:
            fieldsets.insert(
                1,
                ("State", {"fields": ("id", "shared_secret", "disabled_at", "circuit_state", "circuit_failure_count",
                                      "created_at", "updated_at")}),
            )  # fmt: skip
        return fieldsets

    @admin.display(description="enabled", boolean=True, ordering="disabled_at")
    def enabled(self, webhook: Webhook) -> bool:
        return webhook.is_enabled

    @admin.display(description="circuit", ordering="circuit_state")
    def circuit(self, webhook: Webhook):
        return status_badge("completed" if webhook.circuit_state == CircuitState.CLOSED else "failed",
                            webhook.get_circuit_state_display())  # fmt: skip

    def save_model(self, request, obj: Webhook, form, change: bool) -> None:
        data = form.cleaned_data
        fields = ("name", "topic", "callback_url", "include_resources", "reference", "reference_origin")
        values = {field: data.get(field) for field in fields}
        if change:
            values = {field: value for field, value in values.items() if field in form.changed_data}
            saved = services.webhook_update(obj, changes=values) if values else obj
        else:
            saved = services.webhook_create(mode=data["mode"], **values)
        # The admin goes on with `obj` (history, redirect): make it the saved webhook.
        obj.__dict__.update(saved.__dict__)

    def _apply(self, request, queryset, service, title: str, done: str):
        if self.too_many_selected(request, queryset):
            return None

        def apply(webhook: Webhook):
            service(webhook)
            return "done", done

        rows = apply_to_each(request, queryset.order_by("name"), apply, model_admin=self)
        return redirect_to_report(request, self, title=title, rows=rows)

    @admin.action(description="Disable selected webhooks", permissions=["change"])
    def disable_selected(self, request, queryset):
        return self._apply(request, queryset, services.webhook_disable, "Disable webhooks", "disabled")

    @admin.action(description="Enable selected webhooks", permissions=["change"])
    def enable_selected(self, request, queryset):
        return self._apply(request, queryset, services.webhook_enable, "Enable webhooks", "enabled")

    @admin.action(description="Reset the circuit of selected webhooks", permissions=["change"])
    def reset_circuit_selected(self, request, queryset):
        return self._apply(request, queryset, services.webhook_reset_circuit, "Reset circuits", "circuit closed")

    def delete_model(self, request, obj: Webhook) -> None:
        services.webhook_delete(obj)

    def delete_queryset(self, request, queryset) -> None:
        for webhook in queryset:
            services.webhook_delete(webhook)


class ReadOnlyAdmin(BackOfficeAdmin):
    """Records of what happened: viewable, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EventCallback)
class EventCallbackAdmin(ReadOnlyAdmin):
    list_display = ("id", "webhook_link", "created", "response", "attempt", "callback_url")
    list_select_related = ("webhook",)
    list_filter = ("response_code", "mode", "webhook")
    search_fields = ("=id", "=webhook__id")
    ordering = ("-created_at", "-id")
    fields = ("id", "webhook_link", "created_at", "callback_url", "response_code", "response_message", "attempt",
              "delivery_link", "payload_json")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="webhook")
    def webhook_link(self, callback: EventCallback):
        return admin_link(callback.webhook)

    @admin.display(description="at", ordering="created_at")
    def created(self, callback: EventCallback):
        return short_moment(callback.created_at)

    @admin.display(description="answer")
    def response(self, callback: EventCallback):
        return response_badge(callback)

    @admin.display(description="delivery")
    def delivery_link(self, callback: EventCallback):
        return admin_link(callback.delivery)

    @admin.display(description="payload")
    def payload_json(self, callback: EventCallback):
        return pretty_json(callback.payload)


DELIVERY_TONES = {
    DeliveryStatus.DELIVERED: "completed",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.PENDING: "pending",
    DeliveryStatus.SENDING: "in_progress",
    DeliveryStatus.SKIPPED: "aborted",
}


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "webhook_link", "topic", "status_badge", "attempts", "next_attempt", "last_error")
    list_select_related = ("webhook", "event")
    list_filter = ("status", "webhook")
    search_fields = ("=id", "=event__id", "=event__resource_id")
    ordering = ("-created_at", "-id")
    fields = ("id", "webhook_link", "topic", "resource", "status", "attempts", "next_attempt_at", "claimed_until",
              "last_error", "created_at", "updated_at")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="webhook")
    def webhook_link(self, delivery: WebhookDelivery):
        return admin_link(delivery.webhook)

    @admin.display(description="topic")
    def topic(self, delivery: WebhookDelivery) -> str:
        return delivery.event.topic

    @admin.display(description="resource")
    def resource(self, delivery: WebhookDelivery):
        return format_html("{} {}", delivery.event.resource_type, delivery.event.resource_id)

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery: WebhookDelivery):
        return status_badge(DELIVERY_TONES.get(delivery.status, delivery.status), delivery.get_status_display())

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt(self, delivery: WebhookDelivery):
        return short_moment(delivery.next_attempt_at) if delivery.status == DeliveryStatus.PENDING else "—"
