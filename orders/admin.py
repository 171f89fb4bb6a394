"""The back-office for markets, customers and their wallets, and orders.

Markets, customers and wallet entries are reference data a merchant maintains here. Orders are
records: they change only through `orders.services` (place, cancel), offered as actions.
"""

import zoneinfo

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orders.admin_support import (
    BackOfficeAdmin,
    DateRangeFilter,
    StatusBadgeColumn,
    admin_link,
    apply_to_each,
    changelist_url,
    confirmation_page,
    email_variants,
    money,
    pretty_json,
    redirect_to_report,
    resource_id_or_reference,
    search_number,
    short_moment,
    status_badge,
)
from orders.models import Customer, CustomerPaymentSource, LineItem, Market, Order, OrderStatus
from orders.services import CANCELLABLE_STATUSES, order_cancel, order_place


def expiry_badge(payment_source: CustomerPaymentSource):
    if payment_source.expires_at is None:
        return "never expires"
    when = timezone.localtime(payment_source.expires_at).strftime("%Y-%m-%d")
    if payment_source.expires_at <= timezone.now():
        return format_html('{} <span class="badge badge-danger">Expired</span>', when)
    return when


# --- Markets -----------------------------------------------------------------------------------


class MarketForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[(zone, zone) for zone in sorted(zoneinfo.available_timezones())],
        initial="UTC",
        help_text="Subscriptions in this market run on this time zone's wall clock.",
    )

    class Meta:
        model = Market
        fields = (
            "mode",
            "name",
            "code",
            "currency_code",
            "time_zone",
            "subscription_model",
            "disabled_at",
            "reference",
            "reference_origin",
        )


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    form = MarketForm
    list_display = ("name", "code", "currency_code", "time_zone", "subscription_model", "enabled", "mode")
    list_select_related = ("subscription_model",)
    list_filter = ("mode", "currency_code")
    search_fields = ("name", "code")
    readonly_fields = ("id", "created_at", "updated_at")

    @admin.display(description="enabled", boolean=True)
    def enabled(self, market: Market) -> bool:
        return market.disabled_at is None or market.disabled_at > timezone.now()


# --- Customers and wallets ---------------------------------------------------------------------


class WalletInline(admin.TabularInline):
    model = CustomerPaymentSource
    extra = 0
    fields = ("name", "payment_source_type", "expires_at", "mode")
    verbose_name = "saved payment source"
    verbose_name_plural = "wallet"
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(BackOfficeAdmin):
    list_display = ("email", "mode", "created_at")
    list_filter = ("mode",)
    ordering = ("email", "id")  # the (mode, email) unique index
    sortable_by = ("email",)
    search_fields = ("email",)
    search_help_text = "Full email address, reference or id."
    inlines = [WalletInline]
    readonly_fields = ("id", "subscriptions_link", "orders_link", "created_at", "updated_at")
    fields = ("mode", "email", "reference", "reference_origin", *readonly_fields)

    @admin.display(description="subscriptions")
    def subscriptions_link(self, customer: Customer):
        from subscriptions.models import OrderSubscription

        return format_html(
            '<a href="{}">Subscriptions of this customer</a>', changelist_url(OrderSubscription, q=customer.email)
        )

    @admin.display(description="orders")
    def orders_link(self, customer: Customer):
        return format_html('<a href="{}">Orders of this customer</a>', changelist_url(Order, q=customer.email))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(resource_id_or_reference(term) | Q(email__in=email_variants(term) or [term])), False


@admin.register(CustomerPaymentSource)
class CustomerPaymentSourceAdmin(BackOfficeAdmin):
    list_display = ("name", "customer", "payment_source_type", "expiry", "mode")
    list_select_related = ("customer",)
    list_filter = ("mode", "payment_source_type")
    ordering = ("-created_at", "-id")
    sortable_by = ()
    raw_id_fields = ("customer",)
    search_fields = ("customer__email",)
    search_help_text = "The customer's full email address, or the source's id."
    readonly_fields = ("id", "created_at", "updated_at")

    @admin.display(description="expires")
    def expiry(self, payment_source: CustomerPaymentSource):
        return expiry_badge(payment_source)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = Customer.objects.filter(email__in=email_variants(term) or [term]).values("pk")
        return queryset.filter(Q(pk=term) | Q(customer_id__in=customers)), False


# --- Orders ------------------------------------------------------------------------------------


class RenewalFilter(admin.SimpleListFilter):
    title = "origin"
    parameter_name = "origin"

    def lookups(self, request, model_admin):
        return [("renewal", "Renewals (made by a subscription)"), ("other", "Other orders")]

    def queryset(self, request, queryset):
        if self.value() == "renewal":
            return queryset.filter(order_subscription__isnull=False)
        if self.value() == "other":
            return queryset.filter(order_subscription__isnull=True)
        return queryset


class LineItemInline(admin.TabularInline):
    model = LineItem
    extra = 0
    can_delete = False
    fields = ("sku_code", "bundle_code", "name", "quantity", "unit_price", "total", "frequency")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Line items are part of their order: whoever may see the order sees them.
        return request.user.has_perm("orders.view_order") or request.user.has_perm("orders.change_order")

    @admin.display(description="unit price")
    def unit_price(self, item: LineItem) -> str:
        return money(item.unit_amount_cents, item.currency_code)

    @admin.display(description="total")
    def total(self, item: LineItem) -> str:
        return money(item.total_amount_cents, item.currency_code)


def address_text(address) -> str:
    return str(address) if address is not None else "—"


@admin.register(Order)
class OrderAdmin(StatusBadgeColumn, BackOfficeAdmin):
    list_display = (
        "number",
        "status_badge",
        "customer_email",
        "market",
        "total",
        "placed",
        "renewal_of",
        "created",
    )
    list_display_links = ("number",)
    list_select_related = ("market", "order_subscription")
    list_filter = ("status", RenewalFilter, "market", ("created_at", DateRangeFilter), "mode")
    ordering = ("-created_at", "-id")  # index order_created_desc
    sortable_by = ("number",)
    search_fields = ("number",)  # the matching itself is `get_search_results`
    search_help_text = "Order number (#1234), full customer email, or id."
    inlines = [LineItemInline]
    actions = ("place_selected", "cancel_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number_and_status",
                    "customer_link",
                    "customer_email",
                    "market",
                    "payment_source",
                    "billing_address_text",
                    "shipping_address_text",
                    "totals",
                    "placed_at",
                    "approved_at",
                    "cancelled_at",
                )
            },
        ),
        ("Subscriptions", {"fields": ("renewal_of", "made_by_copy", "subscriptions_started")}),
        (
            "Record",
            {
                "classes": ("collapse",),
                "fields": ("id", "mode", "reference", "reference_origin", "metadata_json", "created_at", "updated_at"),
            },
        ),
    )
    readonly_fields = (
        "number_and_status",
        "customer_link",
        "customer_email",
        "market",
        "payment_source",
        "billing_address_text",
        "shipping_address_text",
        "totals",
        "placed_at",
        "approved_at",
        "cancelled_at",
        "renewal_of",
        "made_by_copy",
        "subscriptions_started",
        "id",
        "mode",
        "reference",
        "reference_origin",
        "metadata_json",
        "created_at",
        "updated_at",
    )

    @admin.display(description="total")
    def total(self, order: Order) -> str:
        return money(order.total_amount_cents, order.currency_code)

    @admin.display(description="placed")
    def placed(self, order: Order):
        return short_moment(order.placed_at)

    @admin.display(description="created")
    def created(self, order: Order):
        return short_moment(order.created_at)

    @admin.display(description="renewal of")
    def renewal_of(self, order: Order):
        return admin_link(order.order_subscription) if order.order_subscription_id else "—"

    @admin.display(description="order")
    def number_and_status(self, order: Order):
        return format_html("#{} {}", order.number, self.status_badge(order))

    @admin.display(description="customer")
    def customer_link(self, order: Order):
        return admin_link(order.customer) if order.customer_id else "—"

    @admin.display(description="billing address")
    def billing_address_text(self, order: Order) -> str:
        return address_text(order.billing_address)

    @admin.display(description="shipping address")
    def shipping_address_text(self, order: Order) -> str:
        return address_text(order.shipping_address)

    @admin.display(description="totals")
    def totals(self, order: Order) -> str:
        subtotal = money(order.subtotal_amount_cents, order.currency_code)
        return f"{money(order.total_amount_cents, order.currency_code)} ({order.skus_count} items, subtotal {subtotal})"

    @admin.display(description="made by recurring order copy")
    def made_by_copy(self, order: Order):
        from copies.models import RecurringOrderCopy

        copy = RecurringOrderCopy.objects.filter(target_order=order).first()
        return format_html("{} {}", admin_link(copy), status_badge(copy.status)) if copy else "—"

    @admin.display(description="subscriptions started by this order")
    def subscriptions_started(self, order: Order):
        subscriptions = list(order.order_subscriptions.all()[:20])
        if not subscriptions:
            return "—"
        return format_html_join(", ", "{} {}", ((admin_link(s), status_badge(s.status)) for s in subscriptions))

    @admin.display(description="metadata")
    def metadata_json(self, order: Order):
        return pretty_json(order.metadata)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q(pk=term)
        if (number := search_number(term)) is not None:
            query |= Q(number=number)
        if emails := email_variants(term):
            query |= Q(customer_email__in=emails)
        return queryset.filter(query), False

    # --- records: changed only by the place and cancel services

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_place_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.change_order")

    @admin.action(description="Place selected draft orders", permissions=["place"])
    def place_selected(self, request, queryset):
        if self.too_many_selected(request, queryset):
            return None

        def place(order: Order):
            if order.status in (OrderStatus.PLACED, OrderStatus.APPROVED):
                return "unchanged", f"already {order.status}: nothing to do"
            order_place(order)
            return "done", "placed"

        rows = apply_to_each(request, queryset.order_by("number"), place, model_admin=self)
        return redirect_to_report(request, self, title="Place orders", rows=rows)

    @admin.action(description="Cancel selected orders…", permissions=["place"])
    def cancel_selected(self, request, queryset):
        if self.too_many_selected(request, queryset):
            return None
        if request.POST.get("confirmed") != "yes":
            orders = list(queryset.order_by("number"))
            return confirmation_page(
                request,
                self,
                title="Cancel orders?",
                objects=orders,
                will_change=[order for order in orders if order.status in CANCELLABLE_STATUSES],
                warning=(
                    "Cancelling a source order also cancels its subscriptions when the market's subscription "
                    "model says so (auto cancel). Only pending, placed and approved orders can be cancelled."
                ),
                confirm_label="Yes, cancel these orders",
                action="cancel_selected",
            )

        def cancel(order: Order):
            if order.status == OrderStatus.CANCELLED:
                return "unchanged", "already cancelled: nothing to do"
            order_cancel(order)
            return "done", "cancelled"

        rows = apply_to_each(request, queryset.order_by("number"), cancel, model_admin=self)
        return redirect_to_report(request, self, title="Cancel orders", rows=rows)
