"""The staff groups the back-office ships with. Permissions are Django's model permissions plus our
custom ones (retry, cancel, run); a group is just a named set of them.

- support: sees everything, retries failed copies; cannot change, cancel, run or delete anything.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

SUPPORT_GROUP = "support"

VIEWABLE_MODELS = {
    "orders": ["market", "customer", "customerpaymentsource", "order", "lineitem"],
    "subscriptions": ["subscriptionmodel", "ordersubscription", "ordersubscriptionitem"],
    "copies": ["recurringordercopy", "event"],
}
SUPPORT_EXTRA_PERMISSIONS = [("copies", "retry_recurringordercopy")]


def support_permissions() -> list[Permission]:
    wanted = Q()
    for app_label, models in VIEWABLE_MODELS.items():
        for model in models:
            wanted |= Q(content_type__app_label=app_label, codename=f"view_{model}")
    for app_label, codename in SUPPORT_EXTRA_PERMISSIONS:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(wanted))


def staff_groups_ensure() -> Group:
    """Create the support group, or reset its permissions to the list above. Safe to run again."""
    group, _created = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.set(support_permissions())
    return group
