"""Who may do what: Django model permissions, the support group, CSRF on every form."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from copies.models import RecurringOrderCopy
from copies.staff_groups import SUPPORT_GROUP, staff_groups_ensure
from subscriptions.models import SubscriptionStatus
from tests.admin.builders import failed_copy, fix_wallet
from tests.factories import active_subscription

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = reverse("admin:subscriptions_ordersubscription_changelist")
COPIES = reverse("admin:copies_recurringordercopy_changelist")


def action_names(response) -> set[str]:
    form = response.context["action_form"]  # None when the user may run no action at all
    return {name for name, _label in form.fields["action"].choices if name} if form else set()


def test_support_sees_everything(support_client):
    copy = failed_copy()
    pages = [
        reverse("admin:index"),
        SUBSCRIPTIONS,
        reverse("admin:subscriptions_ordersubscription_change", args=[copy.order_subscription_id]),
        COPIES,
        reverse("admin:copies_recurringordercopy_change", args=[copy.pk]),
        reverse("admin:copies_event_changelist"),
        reverse("admin:orders_order_changelist"),
        reverse("admin:orders_order_change", args=[copy.target_order_id]),
        reverse("admin:orders_customer_changelist"),
        reverse("admin:orders_market_changelist"),
        reverse("admin:subscriptions_subscriptionmodel_changelist"),
    ]
    for url in pages:
        assert support_client.get(url).status_code == 200, url


def test_support_can_retry_a_failed_copy(support_client):
    copy = failed_copy()
    fix_wallet(copy.order_subscription)

    page = support_client.get(reverse("admin:copies_recurringordercopy_change", args=[copy.pk]))
    assert page.context["can_retry"] is True
    assert action_names(support_client.get(COPIES)) == {"retry_selected"}

    support_client.post(reverse("admin:copies_recurringordercopy_retry", args=[copy.pk]))
    assert RecurringOrderCopy.objects.filter(retry_of=copy).exists()


def test_support_cannot_cancel_change_run_or_delete(support_client):
    subscription = active_subscription()
    change_url = reverse("admin:subscriptions_ordersubscription_change", args=[subscription.pk])

    page = support_client.get(change_url)
    assert page.context["triggers"] == []
    assert page.context["has_change_permission"] is False
    assert page.context["has_delete_permission"] is False
    assert action_names(support_client.get(SUBSCRIPTIONS)) == set()

    for trigger in ("cancel", "deactivate", "run-now"):
        url = reverse("admin:subscriptions_ordersubscription_trigger", args=[subscription.pk, trigger])
        assert support_client.post(url, {"confirmed": "yes"}).status_code == 403, trigger
    refused_action = support_client.post(
        SUBSCRIPTIONS, {"action": "cancel_selected", "_selected_action": [subscription.pk], "confirmed": "yes"}
    )
    assert refused_action.status_code in (200, 302)  # Django answers "No action selected."
    assert support_client.post(change_url, {"frequency": "weekly"}).status_code == 403
    delete_url = reverse("admin:subscriptions_ordersubscription_delete", args=[subscription.pk])
    assert support_client.post(delete_url, {"post": "yes"}).status_code == 403
    subscription.refresh_from_db()
    assert (subscription.status, subscription.frequency) == (SubscriptionStatus.ACTIVE, "monthly")


def test_cancel_and_run_are_permissions_of_their_own():
    user = get_user_model().objects.create_user("casey", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_ordersubscription"),
        Permission.objects.get(codename="change_ordersubscription"),
    )
    client = Client()
    client.force_login(user)
    subscription = active_subscription()

    assert action_names(client.get(SUBSCRIPTIONS)) == {"activate_selected", "deactivate_selected"}

    user.user_permissions.add(Permission.objects.get(codename="cancel_ordersubscription"))
    user = get_user_model().objects.get(pk=user.pk)  # a fresh permission cache
    client.force_login(user)
    assert "cancel_selected" in action_names(client.get(SUBSCRIPTIONS))
    url = reverse("admin:subscriptions_ordersubscription_trigger", args=[subscription.pk, "cancel"])
    client.post(url, {"confirmed": "yes"})
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED


def test_the_support_group_has_exactly_view_and_retry():
    group = staff_groups_ensure()
    codenames = set(group.permissions.values_list("codename", flat=True))

    assert group.name == SUPPORT_GROUP
    assert "retry_recurringordercopy" in codenames
    assert all(name.startswith("view_") for name in codenames - {"retry_recurringordercopy"})
    assert staff_groups_ensure().permissions.count() == len(codenames)  # idempotent


def test_staff_must_log_in(client):
    response = client.get(SUBSCRIPTIONS)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_every_state_changing_form_needs_its_csrf_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    subscription = active_subscription()
    copy = failed_copy()
    posts = [
        reverse("admin:subscriptions_ordersubscription_trigger", args=[subscription.pk, "deactivate"]),
        reverse("admin:subscriptions_ordersubscription_trigger", args=[subscription.pk, "cancel"]),
        reverse("admin:copies_recurringordercopy_retry", args=[copy.pk]),
        SUBSCRIPTIONS,
    ]
    for url in posts:
        data = {"confirmed": "yes", "action": "cancel_selected", "_selected_action": [subscription.pk]}
        response = client.post(url, data)
        assert response.status_code == 403, url
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE

    # Every form of these pages posts, and each carries its token (buttons, confirmation, change form).
    for url in (
        reverse("admin:subscriptions_ordersubscription_change", args=[subscription.pk]),
        reverse("admin:subscriptions_ordersubscription_trigger", args=[subscription.pk, "cancel"]),
        reverse("admin:copies_recurringordercopy_change", args=[copy.pk]),
    ):
        html = client.get(url).content.decode()
        assert html.count("<form") == html.count('name="csrfmiddlewaretoken"') >= 2, url
