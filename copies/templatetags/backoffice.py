"""Template helpers of the back-office pages."""

from django import template
from django.utils.safestring import mark_safe

from copies.dashboard import dashboard_summary
from copies.models import RecurringOrderCopy
from orders.admin_support import changelist_url
from subscriptions.models import OrderSubscription

register = template.Library()


@register.filter
def thousands(value: object) -> str:
    """1234567 as 1,234,567."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.inclusion_tag("admin/backoffice/dashboard.html", takes_context=True)
def backoffice_dashboard(context: template.Context) -> dict:
    """The home page's dashboard, for staff who may see subscriptions and copies."""
    user = context["request"].user
    if not (user.has_perm("subscriptions.view_ordersubscription") and user.has_perm("copies.view_recurringordercopy")):
        return {"visible": False}
    summary = dashboard_summary()
    summary["chart_svg"] = mark_safe(summary["chart_svg"])  # built by copies_chart_svg, every text escaped
    return {
        "visible": True,
        **summary,
        "subscriptions_url": changelist_url(OrderSubscription),
        "failed_last_run_url": changelist_url(OrderSubscription, last_run="failed"),
        "copies_url": changelist_url(RecurringOrderCopy),
        "failed_not_retried_url": changelist_url(RecurringOrderCopy, attention="failed_not_retried"),
        "failed_copies_url": changelist_url(RecurringOrderCopy, status__exact="failed"),
        "completed_copies_url": changelist_url(RecurringOrderCopy, status__exact="completed"),
    }
