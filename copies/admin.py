"""The back-office for recurring order copies (one run of a subscription each) and events.

Both are records of what happened: the admin shows them and offers one action, retrying a failed
copy, through `recurring_order_copy_retry` (a new copy for the same cycle; the failed one stays).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join

from copies.events import RESOURCE_TYPES
from copies.models import CopyStatus, Event, RecurringOrderCopy
from copies.services import recurring_order_copy_retry
from orders.admin_support import (
    BackOfficeAdmin,
    DateRangeFilter,
    StatusBadgeColumn,
    acting_as_admin,
    admin_link,
    apply_to_each,
    email_variants,
    errors_list_html,
    ids_of,
    pretty_json,
    readable_errors,
    redirect_to_report,
    resource_id_or_reference,
    search_number,
    short_moment,
    timeline,
    who_in_words,
)
from orders.models import Order
from subscriptions.models import OrderSubscription

COPY_RESOURCE_TYPE = "recurring_order_copies"


def retries_of(copy_id) -> "QuerySet[RecurringOrderCopy]":
    """As NOT EXISTS, PostgreSQL probes the retry_of index per failed copy; `retried_by__isnull`
    (a LEFT JOIN) made it hash the whole table."""
    return RecurringOrderCopy.objects.filter(retry_of=copy_id)


def retried_by(copy: RecurringOrderCopy) -> RecurringOrderCopy | None:
    """The copy that retried this one, if any (a reverse one-to-one raises when there is none)."""
    try:
        return copy.retried_by
    except RecurringOrderCopy.DoesNotExist:
        return None


# --- Filters -----------------------------------------------------------------------------------


class NeedsAttentionFilter(admin.SimpleListFilter):
    """The merchant's question, "which renewals failed and still need me?", as one click."""

    title = "attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("failed_not_retried", "Failed, not retried yet")]

    def queryset(self, request, queryset):
        if self.value() == "failed_not_retried":
            return queryset.filter(status=CopyStatus.FAILED).exclude(Exists(retries_of(OuterRef("pk"))))
        return queryset


class SubscriptionFilter(admin.SimpleListFilter):
    """Copies of one subscription (the subscription page links here); shown only while in use."""

    title = "subscription"
    parameter_name = "order_subscription"

    def lookups(self, request, model_admin):
        if not self.value():
            return []
        number = OrderSubscription.objects.filter(pk=self.value()).values_list("number", flat=True).first()
        return [(self.value(), f"#{number}" if number else self.value())]

    def queryset(self, request, queryset):
        return queryset.filter(order_subscription_id=self.value()) if self.value() else queryset


# --- Recurring order copies --------------------------------------------------------------------


@admin.register(RecurringOrderCopy)
class RecurringOrderCopyAdmin(StatusBadgeColumn, BackOfficeAdmin):
    list_display = (
        "id",
        "subscription_link",
        "source_order_link",
        "target_order_link",
        "status_badge",
        "started",
        "finished",
        "errors",
        "first_error_in_words",
    )
    list_display_links = ("id",)
    list_select_related = ("order_subscription", "source_order", "target_order", "retried_by")
    list_filter = (
        "status",
        NeedsAttentionFilter,
        ("created_at", DateRangeFilter),
        ("failed_at", DateRangeFilter),
        ("completed_at", DateRangeFilter),
        "order_subscription__market",
        "mode",
        SubscriptionFilter,
    )
    # Newest first; index copy_created_desc (and copy_status_created within a status).
    ordering = ("-created_at", "-id")
    sortable_by = ()
    search_fields = ("id",)  # the search box; the matching itself is `get_search_results`
    search_help_text = "Subscription, source or target order number (#1234), customer email, reference or id."
    actions = ("retry_selected",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id_and_status",
                    "subscription_link",
                    "source_order_link",
                    "target_order_link",
                    "cycle_at",
                    "started_at",
                    "completed_at",
                    "failed_at",
                    "attempts",
                    "retries",
                )
            },
        ),
        ("Errors", {"fields": ("errors_count", "errors_log_list")}),
        ("Options", {"fields": ("place_target_order", "reuse_wallet")}),
        (
            "Record",
            {
                "classes": ("collapse",),
                "fields": (
                    "mode",
                    "reference",
                    "reference_origin",
                    "metadata_json",
                    "created_at",
                    "updated_at",
                    "enqueued_at",
                ),
            },
        ),
    )
    readonly_fields = (
        "id_and_status",
        "subscription_link",
        "source_order_link",
        "target_order_link",
        "cycle_at",
        "started_at",
        "completed_at",
        "failed_at",
        "attempts",
        "retries",
        "errors_count",
        "errors_log_list",
        "place_target_order",
        "reuse_wallet",
        "mode",
        "reference",
        "reference_origin",
        "metadata_json",
        "created_at",
        "updated_at",
        "enqueued_at",
    )

    # --- columns and fields

    @admin.display(description="subscription")
    def subscription_link(self, copy: RecurringOrderCopy):
        return admin_link(copy.order_subscription)

    @admin.display(description="source order")
    def source_order_link(self, copy: RecurringOrderCopy):
        return admin_link(copy.source_order)

    @admin.display(description="target order")
    def target_order_link(self, copy: RecurringOrderCopy):
        return admin_link(copy.target_order) if copy.target_order_id else "—"

    @admin.display(description="started")
    def started(self, copy: RecurringOrderCopy):
        return short_moment(copy.started_at)

    @admin.display(description="completed / failed")
    def finished(self, copy: RecurringOrderCopy):
        # One column: a copy either completed or failed (or neither yet); the badge says which.
        return short_moment(copy.completed_at or copy.failed_at)

    @admin.display(description="errors")
    def errors(self, copy: RecurringOrderCopy) -> int:
        return copy.errors_count

    @admin.display(description="first error")
    def first_error_in_words(self, copy: RecurringOrderCopy):
        lines = readable_errors(copy.errors_log or {})
        retry = retried_by(copy)
        if retry is not None:
            return format_html(
                '{} <span class="quiet">· retried as {}</span>', lines[0] if lines else "—", admin_link(retry)
            )
        return lines[0] if lines else "—"

    @admin.display(description="copy")
    def id_and_status(self, copy: RecurringOrderCopy):
        return format_html("{} {}", copy.id, self.status_badge(copy))

    @admin.display(description="retries")
    def retries(self, copy: RecurringOrderCopy):
        parts = []
        if copy.retry_of_id:
            parts.append(format_html("retry of {}", admin_link(copy.retry_of)))
        if (retry := retried_by(copy)) is not None:
            parts.append(format_html("retried as {} ({})", admin_link(retry), retry.get_status_display().lower()))
        return format_html_join(" · ", "{}", ((part,) for part in parts)) if parts else "—"

    @admin.display(description="errors log")
    def errors_log_list(self, copy: RecurringOrderCopy):
        return errors_list_html(copy.errors_log)

    @admin.display(description="metadata")
    def metadata_json(self, copy: RecurringOrderCopy):
        return pretty_json(copy.metadata)

    # --- a record: viewed, retried, never edited here

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("copies.retry_recurringordercopy")

    # --- search

    def get_search_results(self, request, queryset, search_term):
        """Exact matches only; each resolves through an index (numbers via their own tables)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        query = resource_id_or_reference(term)
        number = search_number(term)
        if number is not None:
            orders = ids_of(Order.objects.filter(number=number))
            subscriptions = ids_of(OrderSubscription.objects.filter(number=number))
            query |= Q(order_subscription_id__in=subscriptions) | Q(source_order_id__in=orders)
            query |= Q(target_order_id__in=orders)
        if emails := email_variants(term):
            query |= Q(order_subscription_id__in=ids_of(OrderSubscription.objects.filter(customer_email__in=emails)))
        return queryset.filter(query), False

    # --- retry

    @admin.action(description="Retry selected failed copies", permissions=["retry"])
    def retry_selected(self, request, queryset):
        if self.too_many_selected(request, queryset):
            return None

        def retry(copy: RecurringOrderCopy):
            new_copy = recurring_order_copy_retry(copy)
            new_copy.refresh_from_db(fields=["status", "errors_log"])
            outcome = new_copy.get_status_display().lower()
            if new_copy.status == CopyStatus.FAILED:
                outcome = f"failed again ({new_copy.first_error})"
            return "done", f"retried as {new_copy.id}: {outcome}", new_copy

        rows = apply_to_each(request, queryset.order_by("-created_at", "-id"), retry, model_admin=self)
        return redirect_to_report(request, self, title="Retry failed copies", rows=rows)

    def extra_urls(self) -> list:
        return [
            path(
                "<path:object_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="copies_recurringordercopy_retry",
            )
        ]

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_retry_permission(request):
            raise PermissionDenied
        copy = self.get_object(request, unquote(object_id))
        if copy is None:
            raise Http404("No such recurring order copy")
        try:
            with acting_as_admin(request):
                new_copy = recurring_order_copy_retry(copy)
        except ValidationError as exc:
            self.message_user(request, f"Retry refused: {'; '.join(readable_errors(exc))}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:copies_recurringordercopy_change", args=[copy.pk]))
        new_copy.refresh_from_db(fields=["status", "errors_log"])
        self.log_change(request, copy, f"retried as {new_copy.id}")
        self.message_user(
            request,
            f"Retried {copy.id} as {new_copy.id}: it is {new_copy.get_status_display().lower()}.",
            messages.ERROR if new_copy.status == CopyStatus.FAILED else messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:copies_recurringordercopy_change", args=[new_copy.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        copy = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if copy is not None:
            events = Event.objects.filter(resource_type=COPY_RESOURCE_TYPE, resource_id=copy.pk)
            extra_context.update(
                events=timeline(events.order_by("created_at", "id")),
                can_retry=(
                    copy.status == CopyStatus.FAILED and retried_by(copy) is None and self.has_retry_permission(request)
                ),
                retry_url=reverse("admin:copies_recurringordercopy_retry", args=[copy.pk]),
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- Events ------------------------------------------------------------------------------------

MODEL_OF_RESOURCE_TYPE = {resource_type: label for label, resource_type in RESOURCE_TYPES.items()}


class ResourceTypeFilter(admin.SimpleListFilter):
    title = "resource type"
    parameter_name = "resource_type"

    def lookups(self, request, model_admin):
        return [(value, value.replace("_", " ")) for value in sorted(MODEL_OF_RESOURCE_TYPE)]

    def queryset(self, request, queryset):
        return queryset.filter(resource_type=self.value()) if self.value() else queryset


class ResourceFilter(admin.SimpleListFilter):
    """Events of one resource (resource pages link here); shown only while in use."""

    title = "resource"
    parameter_name = "resource_id"

    def lookups(self, request, model_admin):
        return [(self.value(), self.value())] if self.value() else []

    def queryset(self, request, queryset):
        return queryset.filter(resource_id=self.value()) if self.value() else queryset


@admin.register(Event)
class EventAdmin(BackOfficeAdmin):
    list_display = ("when", "topic", "resource_link", "who_in_words", "details")
    list_display_links = ("when",)
    list_filter = (ResourceTypeFilter, "mode", ResourceFilter)
    ordering = ("-created_at", "-id")  # index event_created_desc
    sortable_by = ()
    search_fields = ("resource_id",)
    search_help_text = "The id of the resource (e.g. a subscription's or a copy's id), or the event's id."
    fields = ("created_at", "topic", "resource_link", "who_in_words", "details", "payload_json", "mode", "id")
    readonly_fields = fields

    @admin.display(description="when")
    def when(self, event: Event):
        return short_moment(event.created_at)

    @admin.display(description="topic")
    def topic(self, event: Event) -> str:
        return event.topic

    @admin.display(description="resource")
    def resource_link(self, event: Event):
        label = MODEL_OF_RESOURCE_TYPE.get(event.resource_type)
        if label is None:
            return event.resource_id
        app_label, model_name = label.lower().split(".")
        try:
            url = reverse(f"admin:{app_label}_{model_name}_change", args=[event.resource_id])
        except NoReverseMatch:
            return event.resource_id
        return format_html('<a href="{}">{} {}</a>', url, event.resource_type.replace("_", " "), event.resource_id)

    @admin.display(description="who")
    def who_in_words(self, event: Event) -> str:
        return who_in_words(event.who)

    @admin.display(description="details")
    def details(self, event: Event) -> str:
        row = timeline([event])[0]
        return " · ".join([f"Reason: {row['reason']}"] * bool(row["reason"]) + row["errors"])

    @admin.display(description="payload")
    def payload_json(self, event: Event):
        return pretty_json(event.payload)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # resource_type IN (every type) lets PostgreSQL use the (resource_type, resource_id, …) index.
        of_resource = Q(resource_type__in=list(MODEL_OF_RESOURCE_TYPE), resource_id=term)
        return queryset.filter(of_resource | Q(pk=term)), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # The audit trail is kept whole.
        return False
