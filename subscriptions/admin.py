"""The back-office for order subscriptions and subscription models.

Every change goes through `subscriptions.services` / `subscriptions.scheduler`, the same functions the
API calls, so the admin cannot accept what the API would refuse. The admin only decides what to show.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from copies.models import CopyStatus, Event, RecurringOrderCopy
from orders.admin_support import (
    FAILED_BADGE,
    BackOfficeAdmin,
    FutureDateRangeFilter,
    StatusBadgeColumn,
    acting_as_admin,
    admin_link,
    apply_to_each,
    changelist_url,
    confirmation_page,
    email_variants,
    frequency_in_words,
    ids_of,
    money,
    pretty_json,
    readable_errors,
    redirect_to_report,
    resource_id_or_reference,
    search_number,
    short_moment,
    timeline,
)
from orders.models import CustomerPaymentSource, Order
from subscriptions.models import OrderSubscription, OrderSubscriptionItem, SubscriptionModel, SubscriptionStatus
from subscriptions.schedule import NAMED_FREQUENCIES, InvalidFrequency, validate_frequency
from subscriptions.scheduler import subscription_run_now
from subscriptions.services import (
    subscription_activate,
    subscription_cancel,
    subscription_deactivate,
    subscription_update,
)

RUNNABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.RUNNING)
EDITABLE_FIELDS = ("frequency", "next_run_at", "expires_at", "customer_payment_source")
RECENT_ROWS = 10


def format_moment(moment: datetime | None, time_zone: str | None = None) -> str:
    if moment is None:
        return "—"
    zone = ZoneInfo(time_zone) if time_zone else timezone.get_current_timezone()
    local = moment.astimezone(zone)
    return f"{local:%a %d %b %Y, %H:%M} ({zone.key})"


def copy_outcome_in_words(copy: RecurringOrderCopy) -> str:
    """What became of a copy an action just created (jobs may have run it already)."""
    copy.refresh_from_db(fields=["status", "errors_log", "target_order"])
    if copy.status == CopyStatus.PENDING:
        return "queued for a worker"
    if copy.status == CopyStatus.COMPLETED:
        return f"completed: order {copy.target_order}" if copy.target_order_id else "completed"
    if copy.status == CopyStatus.FAILED:
        return f"failed ({copy.first_error})"
    return copy.get_status_display().lower()


# --- Filters -----------------------------------------------------------------------------------


class FrequencyFilter(admin.SimpleListFilter):
    """Named frequencies plus those the subscription models allow (like Commerce Layer's dashboard):
    listing the distinct values of a million rows would cost a scan on every page load."""

    title = "frequency"
    parameter_name = "frequency"

    def lookups(self, request, model_admin):
        frequencies = list(NAMED_FREQUENCIES)
        for allowed in SubscriptionModel.objects.values_list("frequencies", flat=True):
            frequencies.extend(value for value in allowed or [] if value not in frequencies)
        return [(value, frequency_in_words(value)) for value in frequencies]

    def queryset(self, request, queryset):
        return queryset.filter(frequency=self.value()) if self.value() else queryset


class LastRunFilter(admin.SimpleListFilter):
    title = "last run"
    parameter_name = "last_run"

    def lookups(self, request, model_admin):
        return [("failed", "Failed"), ("succeeded", "Succeeded"), ("never", "Never ran")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "failed":  # the partial index subscription_last_run_failed
            return queryset.filter(last_run_at__isnull=False, succeeded_on_last_run=False)
        if value == "succeeded":
            return queryset.filter(last_run_at__isnull=False, succeeded_on_last_run=True)
        if value == "never":
            return queryset.filter(last_run_at__isnull=True)
        return queryset


# --- Change form -------------------------------------------------------------------------------


class _DryRunRollback(Exception):
    """Raised inside a savepoint to undo a validation-only call of the service."""


class OrderSubscriptionForm(forms.ModelForm):
    """Edits frequency, next run, expiry and payment source through `subscription_update`.

    The service is the validator: `clean` calls it inside a savepoint that is then rolled back, so
    its refusals appear next to the fields, exactly worded as the API words them; `save_model`
    calls it for real. (Whatever the service schedules with on_commit inside the rolled-back
    savepoint is discarded by Django with it.)
    """

    class Meta:
        model = OrderSubscription
        fields = EDITABLE_FIELDS

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in EDITABLE_FIELDS}

    def clean(self):
        cleaned_data = super().clean()
        changes = self.changes() if not self.errors else {}
        if not changes:
            return cleaned_data
        try:
            with transaction.atomic():
                subscription_update(self.instance, changes=changes)
                raise _DryRunRollback
        except _DryRunRollback:
            pass
        except ValidationError as exc:
            for attribute, problems in exc.message_dict.items():
                self.add_error(attribute if attribute in self.fields else None, problems)
        return cleaned_data

    # The service validates; the model's own constraint checks would only repeat it, worse worded.
    def validate_unique(self):
        pass

    def validate_constraints(self):
        pass


class PaymentSourceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CustomerPaymentSource) -> str:
        if obj.expires_at is None:
            return obj.name
        expired = " — expired" if obj.expires_at <= timezone.now() else ""
        return f"{obj.name} (expires {obj.expires_at:%m/%Y}){expired}"


class OrderSubscriptionItemInline(admin.TabularInline):
    """The items the next copies will order; shown, not edited (the API has no item updates)."""

    model = OrderSubscriptionItem
    extra = 0
    can_delete = False
    fields = ("sku_code", "bundle_code", "quantity", "unit_price", "total")
    readonly_fields = fields
    verbose_name_plural = "items"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Items are part of their subscription: whoever may see the subscription sees them.
        return request.user.has_perm("subscriptions.view_ordersubscription") or request.user.has_perm(
            "subscriptions.change_ordersubscription"
        )

    @admin.display(description="unit price")
    def unit_price(self, item: OrderSubscriptionItem) -> str:
        return money(item.unit_amount_cents, item.order_subscription.market.currency_code)

    @admin.display(description="total")
    def total(self, item: OrderSubscriptionItem) -> str:
        return money(item.total_amount_cents, item.order_subscription.market.currency_code)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_subscription__market")


# --- Order subscriptions -----------------------------------------------------------------------


@admin.register(OrderSubscription)
class OrderSubscriptionAdmin(StatusBadgeColumn, BackOfficeAdmin):
    form = OrderSubscriptionForm
    inlines = [OrderSubscriptionItemInline]
    list_display = (
        "number",
        "customer_email",
        "status_badge",
        "frequency_column",
        "market",
        "last_run",
        "next_run",
        "runs",
        "errors",
    )
    list_display_links = ("number",)
    list_select_related = ("market",)
    list_filter = (
        "status",
        FrequencyFilter,
        "market",
        LastRunFilter,
        ("next_run_at", FutureDateRangeFilter),
        "mode",
    )
    # Commerce Layer's dashboard sorts by last update; ties broken by id. Indexes:
    # subscription_updated_desc, and subscription_status_updated within a status.
    ordering = ("-updated_at", "-id")
    # Only columns with an index behind them can be sorted: a click must not sort a million rows.
    sortable_by = ("number", "next_run_at")
    search_fields = ("number",)  # the search box; the matching itself is `get_search_results`
    search_help_text = "Number (#1234), source order number, full customer email, reference or id."
    actions = ("activate_selected", "deactivate_selected", "run_now_selected", "cancel_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number_and_status",
                    "customer_link",
                    "market_link",
                    "source_order_link",
                    "frequency",
                    "frequency_words",
                    "next_run_at",
                    "next_run_in_market_time",
                    "expires_at",
                    "customer_payment_source",
                )
            },
        ),
        (
            "Runs",
            {
                "fields": (
                    "last_run",
                    "occurrencies",
                    "errors_count",
                    "starts_at",
                    "activate_by_source_order",
                    "place_target_order",
                    "renewal_alert_period",
                    "renewal_alert_at",
                )
            },
        ),
        (
            "Record",
            {
                "classes": ("collapse",),
                "fields": (
                    "id",
                    "mode",
                    "reference",
                    "reference_origin",
                    "metadata_json",
                    "options",
                    "schedule_anchor",
                    "created_at",
                    "updated_at",
                ),
            },
        ),
    )
    SYSTEM_FIELDS = (
        "number_and_status",
        "customer_link",
        "market_link",
        "source_order_link",
        "frequency_words",
        "next_run_in_market_time",
        "last_run",
        "occurrencies",
        "errors_count",
        "starts_at",
        "activate_by_source_order",
        "place_target_order",
        "renewal_alert_period",
        "renewal_alert_at",
        "id",
        "mode",
        "reference",
        "reference_origin",
        "metadata_json",
        "options",
        "schedule_anchor",
        "created_at",
        "updated_at",
    )

    # --- list columns

    @admin.display(description="frequency")
    def frequency_column(self, subscription: OrderSubscription) -> str:
        return frequency_in_words(subscription.frequency)

    @admin.display(description="runs")
    def runs(self, subscription: OrderSubscription) -> int:
        return subscription.occurrencies

    @admin.display(description="errors")
    def errors(self, subscription: OrderSubscription) -> int:
        return subscription.errors_count

    @admin.display(description="in words")
    def frequency_words(self, subscription: OrderSubscription) -> str:
        return frequency_in_words(subscription.frequency)

    @admin.display(description="last run")
    def last_run(self, subscription: OrderSubscription):
        if subscription.last_run_at is None:
            return "—"
        when = short_moment(subscription.last_run_at)
        if subscription.last_run_failed:
            return format_html("{} {}", when, FAILED_BADGE)
        return when

    @admin.display(description="next run", ordering="next_run_at")
    def next_run(self, subscription: OrderSubscription):
        return short_moment(subscription.next_run_at)

    # --- change page fields

    @admin.display(description="subscription")
    def number_and_status(self, subscription: OrderSubscription):
        return format_html("#{} {}", subscription.number, self.status_badge(subscription))

    @admin.display(description="customer")
    def customer_link(self, subscription: OrderSubscription):
        if subscription.customer_id is None:
            return subscription.customer_email or "—"
        return admin_link(subscription.customer, subscription.customer_email or subscription.customer)

    @admin.display(description="market")
    def market_link(self, subscription: OrderSubscription):
        market = subscription.market
        return format_html("{} · runs on {} time", admin_link(market), market.time_zone)

    @admin.display(description="source order")
    def source_order_link(self, subscription: OrderSubscription):
        return admin_link(subscription.source_order)

    @admin.display(description="next run in market time")
    def next_run_in_market_time(self, subscription: OrderSubscription) -> str:
        return format_moment(subscription.next_run_at, subscription.market.time_zone)

    @admin.display(description="metadata")
    def metadata_json(self, subscription: OrderSubscription):
        return pretty_json(subscription.metadata)

    def get_readonly_fields(self, request, obj=None):
        if obj is None or obj.status == SubscriptionStatus.CANCELLED or not self.has_change_permission(request, obj):
            # A cancelled subscription is final: the service refuses every change but metadata.
            return (*self.SYSTEM_FIELDS, *EDITABLE_FIELDS)
        return self.SYSTEM_FIELDS

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        fields = form.base_fields
        if obj is not None and "frequency" in fields:
            fields["frequency"] = self.frequency_field(obj)
        if obj is not None and "customer_payment_source" in fields:
            fields["customer_payment_source"] = PaymentSourceChoiceField(
                queryset=CustomerPaymentSource.objects.filter(customer_id=obj.customer_id).order_by("name"),
                required=False,
                label="Payment source",
                help_text="A source saved in the customer's wallet; renewals are charged to it.",
            )
        if "next_run_at" in fields:
            fields["next_run_at"].help_text = "Times are in UTC. Moving the next run moves every later run with it."
        if "expires_at" in fields:
            fields["expires_at"].help_text = "No run happens at or after this time. Empty: never expires."
        return form

    @staticmethod
    def frequency_field(subscription: OrderSubscription) -> forms.Field:
        model = subscription.market.subscription_model
        allowed = list(model.frequencies or []) if model is not None else []
        if allowed:
            if subscription.frequency not in allowed:
                allowed.insert(0, subscription.frequency)
            return forms.ChoiceField(
                choices=[(value, f"{frequency_in_words(value)} ({value})") for value in allowed],
                help_text=f"The frequencies the market's subscription model “{model}” allows.",
            )
        return forms.CharField(
            max_length=100,
            help_text=(
                f"One of {', '.join(NAMED_FREQUENCIES)}, or a cron expression on the market's wall clock "
                "that runs at most once an hour, e.g. “0 9 * * 1” (Mondays at 09:00)."
            ),
        )

    def save_model(self, request, obj, form, change):
        changes = form.changes()
        if changes:
            with acting_as_admin(request):
                subscription_update(obj, changes=changes)

    def has_add_permission(self, request):
        # Subscriptions are created from placed orders, by the API.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Subscriptions with copies and orders cannot be deleted (history is protected); cancel instead.
        actions.pop("delete_selected", None)
        return actions

    # --- search

    def get_search_results(self, request, queryset, search_term):
        """Exact matches only, each on an index; see `search_help_text`."""
        term = search_term.strip()
        if not term:
            return queryset, False
        query = resource_id_or_reference(term)
        number = search_number(term)
        if number is not None:
            query |= Q(number=number) | Q(source_order_id__in=ids_of(Order.objects.filter(number=number)))
        if emails := email_variants(term):
            query |= Q(customer_email__in=emails)
        return queryset.filter(query), False

    # --- permissions of the triggers

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.cancel_ordersubscription")

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.run_ordersubscription")

    # --- bulk actions: each row through the service, each outcome reported

    @admin.action(description="Activate selected subscriptions", permissions=["change"])
    def activate_selected(self, request, queryset):
        if self.too_many_selected(request, queryset):
            return None

        def activate(subscription: OrderSubscription):
            if subscription.status in RUNNABLE:
                return "unchanged", f"already {subscription.status}: nothing to do"
            activated = subscription_activate(subscription)
            return "done", f"activated; next run {format_moment(activated.next_run_at)}"

        return self._report(request, "Activate subscriptions", queryset, activate)

    @admin.action(description="Deactivate selected subscriptions", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        if self.too_many_selected(request, queryset):
            return None

        def deactivate(subscription: OrderSubscription):
            if subscription.status == SubscriptionStatus.INACTIVE:
                return "unchanged", "already inactive: nothing to do"
            subscription_deactivate(subscription)
            return "done", "deactivated: no further runs until it is activated again"

        return self._report(request, "Deactivate subscriptions", queryset, deactivate)

    @admin.action(description="Run selected subscriptions now", permissions=["run"])
    def run_now_selected(self, request, queryset):
        if self.too_many_selected(request, queryset):
            return None
        return self._report(request, "Run subscriptions now", queryset, self._run_now)

    @staticmethod
    def _run_now(subscription: OrderSubscription):
        cycle = subscription.next_run_at
        copy = subscription_run_now(subscription)
        when = format_moment(copy.cycle_at or cycle)
        return "done", f"ran the run due {when}: {copy_outcome_in_words(copy)}", copy

    @admin.action(description="Cancel selected subscriptions…", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        if self.too_many_selected(request, queryset):
            return None
        if request.POST.get("confirmed") == "yes":
            reason = request.POST.get("reason", "").strip()[:255]
            return self._report(request, "Cancel subscriptions", queryset, self._canceller(reason))
        return self._cancel_confirmation(request, list(queryset.select_related("market").order_by("number")))

    @staticmethod
    def _canceller(reason: str):
        def cancel(subscription: OrderSubscription):
            if subscription.status == SubscriptionStatus.CANCELLED:
                return "unchanged", "already cancelled: nothing to do"
            subscription_cancel(subscription, reason=reason)
            return "done", "cancelled: it will never run again"

        return cancel

    def _report(self, request, title: str, queryset: QuerySet, apply) -> HttpResponse:
        rows = apply_to_each(
            request, queryset.order_by("number"), apply, model_admin=self, label=lambda s: f"#{s.number}"
        )
        return redirect_to_report(request, self, title=title, rows=rows)

    def _cancel_confirmation(self, request, subscriptions: list[OrderSubscription], *, form_url: str = ""):
        single = len(subscriptions) == 1
        return confirmation_page(
            request,
            self,
            title=f"Cancel subscription {subscriptions[0]}?" if single else "Cancel subscriptions?",
            objects=subscriptions,
            will_change=[s for s in subscriptions if s.status != SubscriptionStatus.CANCELLED],
            warning=(
                "Cancelling is final: a cancelled subscription never runs again and cannot be activated. "
                "To pause a subscription, deactivate it instead."
            ),
            confirm_label="Yes, cancel" if single else "Yes, cancel these subscriptions",
            action="" if form_url else "cancel_selected",
            form_url=form_url,
            with_reason=True,
        )

    # --- buttons on the change page

    TRIGGERS = {
        # name: (button label, permission check, statuses that show the button)
        "activate": ("Activate", "change", (SubscriptionStatus.DRAFT, SubscriptionStatus.INACTIVE)),
        "deactivate": ("Deactivate", "change", RUNNABLE),
        "run-now": ("Run now", "run", RUNNABLE),
        "cancel": ("Cancel subscription…", "cancel", tuple(s for s in SubscriptionStatus if s != "cancelled")),
    }

    def _allowed(self, request, permission: str, subscription: OrderSubscription | None = None) -> bool:
        checks = {
            "change": lambda: self.has_change_permission(request, subscription),
            "run": lambda: self.has_run_permission(request),
            "cancel": lambda: self.has_cancel_permission(request),
        }
        return checks[permission]()

    def available_triggers(self, request, subscription: OrderSubscription) -> list[dict]:
        """The buttons for what the status allows (the service still decides, and explains a refusal)."""
        buttons = []
        for name, (label, permission, statuses) in self.TRIGGERS.items():
            if subscription.status not in statuses or not self._allowed(request, permission, subscription):
                continue
            if name == "run-now" and subscription.next_run_at is None:
                continue
            url = reverse("admin:subscriptions_ordersubscription_trigger", args=[subscription.pk, name])
            buttons.append({"name": name, "label": label, "url": url, "confirm_page": name == "cancel"})
        return buttons

    def extra_urls(self) -> list:
        return [
            path(
                "<path:object_id>/trigger/<str:trigger>/",
                self.admin_site.admin_view(self.trigger_view),
                name="subscriptions_ordersubscription_trigger",
            )
        ]

    def trigger_view(self, request: HttpRequest, object_id: str, trigger: str) -> HttpResponse:
        if trigger not in self.TRIGGERS:
            raise Http404("No such trigger")
        subscription = self.get_object(request, unquote(object_id))
        if subscription is None:
            raise Http404("No such subscription")
        label, permission, _statuses = self.TRIGGERS[trigger]
        if not self._allowed(request, permission, subscription):
            raise PermissionDenied
        change_url = reverse("admin:subscriptions_ordersubscription_change", args=[subscription.pk])
        if trigger == "cancel" and request.POST.get("confirmed") != "yes":
            if request.method == "POST":
                return HttpResponseRedirect(request.path)
            return self._cancel_confirmation(request, [subscription], form_url=request.path)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            with acting_as_admin(request):
                done = self._apply_trigger(request, trigger, subscription)
        except ValidationError as exc:
            refused = "; ".join(readable_errors(exc))
            self.message_user(
                request, f"{label.rstrip('…')} refused for #{subscription.number}: {refused}", messages.ERROR
            )
        else:
            self.log_change(request, subscription, done)
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def _apply_trigger(self, request: HttpRequest, trigger: str, subscription: OrderSubscription) -> str:
        """Call the service behind a button; returns what was done, in words."""
        number = subscription.number
        if trigger == "activate":
            activated = subscription_activate(subscription)
            return f"#{number} is active; next run {format_moment(activated.next_run_at)}."
        if trigger == "deactivate":
            subscription_deactivate(subscription)
            return f"#{number} is inactive: no further runs until it is activated again."
        if trigger == "cancel":
            subscription_cancel(subscription, reason=request.POST.get("reason", "").strip()[:255])
            return f"#{number} is cancelled: it will never run again."
        _outcome, message, _copy = self._run_now(subscription)
        return f"#{number} {message}."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        subscription = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if subscription is not None:
            copies = subscription.recurring_order_copies.select_related("target_order", "retried_by").order_by(
                "-created_at", "-id"
            )
            events = Event.objects.filter(resource_type="order_subscriptions", resource_id=subscription.pk)
            extra_context.update(
                triggers=self.available_triggers(request, subscription),
                recent_copies=[
                    {"copy": copy, "first_error": next(iter(readable_errors(copy.errors_log or {})), "")}
                    for copy in copies[:RECENT_ROWS]
                ],
                copies_count=subscription.recurring_order_copies.count(),
                all_copies_url=changelist_url(RecurringOrderCopy, order_subscription=subscription.pk),
                events=timeline(events.order_by("-created_at", "-id")[: RECENT_ROWS * 2], newest_first=True),
                all_events_url=changelist_url(Event, resource_id=subscription.pk),
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- Subscription models -----------------------------------------------------------------------


class SubscriptionModelForm(forms.ModelForm):
    frequencies = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One per line: daily, weekly, monthly, two-month, … or a cron expression (e.g. 0 9 * * 1).",
    )

    class Meta:
        model = SubscriptionModel
        fields = ("mode", "name", "strategy", "frequencies", "auto_activate", "auto_cancel", "reference")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["frequencies"] = "\n".join(self.instance.frequencies or [])

    def clean_frequencies(self) -> list[str]:
        values = [line.strip() for line in self.cleaned_data["frequencies"].splitlines() if line.strip()]
        problems = []
        for value in values:
            try:
                validate_frequency(value)
            except InvalidFrequency as exc:
                problems.append(f"“{value}” {exc}")
        if problems:
            raise ValidationError(problems)
        return list(dict.fromkeys(values))


@admin.register(SubscriptionModel)
class SubscriptionModelAdmin(admin.ModelAdmin):
    form = SubscriptionModelForm
    list_display = ("name", "strategy", "frequencies_in_words", "auto_activate", "auto_cancel", "mode")
    list_filter = ("mode", "strategy")
    search_fields = ("name",)
    readonly_fields = ("id", "created_at", "updated_at")

    @admin.display(description="frequencies")
    def frequencies_in_words(self, model: SubscriptionModel) -> str:
        return ", ".join(frequency_in_words(value) for value in model.frequencies or []) or "—"
