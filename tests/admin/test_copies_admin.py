"""The recurring order copies back-office: list, filters, search, the readable error, retry."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from copies.models import CopyStatus, Event, RecurringOrderCopy
from copies.services import recurring_order_copy_retry
from tests.admin.builders import failed_copy, fix_wallet
from tests.factories import MarketFactory, active_subscription, placed_order

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:copies_recurringordercopy_changelist")


def change_url(copy: RecurringOrderCopy) -> str:
    return reverse("admin:copies_recurringordercopy_change", args=[copy.pk])


def listed_ids(response) -> set[str]:
    return {copy.id for copy in response.context["cl"].result_list}


def completed_copy() -> RecurringOrderCopy:
    from copies.services import recurring_order_copy_run
    from subscriptions.scheduler import subscription_run_now

    copy = subscription_run_now(active_subscription())
    recurring_order_copy_run(copy.id)
    copy.refresh_from_db()
    return copy


def test_list_shows_links_status_and_the_first_error_in_words(admin_client):
    copy = failed_copy()

    response = admin_client.get(CHANGELIST)

    html = response.content.decode()
    subscription = copy.order_subscription
    assert reverse("admin:subscriptions_ordersubscription_change", args=[subscription.pk]) in html
    assert reverse("admin:orders_order_change", args=[copy.source_order_id]) in html
    assert reverse("admin:orders_order_change", args=[copy.target_order_id]) in html  # the draft left behind
    assert 'data-status="failed"' in html
    assert "Payment source: is expired" in html


def test_filters_status_attention_dates_and_market(admin_client):
    failed = failed_copy()
    completed = completed_copy()
    retried = failed_copy()
    fix_wallet(retried.order_subscription)
    retry = recurring_order_copy_retry(retried)
    other_market = MarketFactory()
    elsewhere = failed_copy(active_subscription(order=placed_order(market=other_market)))
    RecurringOrderCopy.objects.filter(pk=elsewhere.pk).update(created_at=timezone.now() - timedelta(days=40))

    def ids(query: str) -> set[str]:
        return listed_ids(admin_client.get(f"{CHANGELIST}?{query}"))

    assert ids("status__exact=completed") == {completed.id}
    assert ids("attention=failed_not_retried") == {failed.id, elsewhere.id}
    assert ids(f"order_subscription__market__id__exact={other_market.pk}") == {elsewhere.id}
    forty_days_ago = (timezone.localdate() - timedelta(days=40)).isoformat()
    assert ids(f"created_at__from={forty_days_ago}&created_at__to={forty_days_ago}") == {elsewhere.id}
    today = timezone.localdate().isoformat()
    assert ids(f"failed_at__from={today}") == {failed.id, retried.id, elsewhere.id}
    assert retry.id in ids(f"order_subscription={retry.order_subscription_id}")


def test_search_by_subscription_source_and_target_order_numbers(admin_client):
    copy = failed_copy()
    other = failed_copy()

    def ids(term: str) -> set[str]:
        return listed_ids(admin_client.get(CHANGELIST, {"q": term}))

    assert ids(str(copy.order_subscription.number)) == {copy.id}
    assert ids(str(copy.source_order.number)) == {copy.id}
    assert ids(f"#{copy.target_order.number}") == {copy.id}
    assert ids(copy.id) == {copy.id}
    assert ids(other.order_subscription.customer_email) == {other.id}


def test_list_query_count_does_not_grow_with_page_size(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(captured.captured_queries)

    first = failed_copy()
    fix_wallet(first.order_subscription)
    recurring_order_copy_retry(first)  # a row with a retry, so the "retried as" link is exercised
    admin_client.get(CHANGELIST)
    with_two_rows = queries()

    for _ in range(10):
        failed_copy()
    assert queries() == with_two_rows


def test_change_page_shows_errors_log_as_a_list_metadata_as_json_and_a_timeline(admin_client):
    copy = failed_copy()
    RecurringOrderCopy.objects.filter(pk=copy.pk).update(metadata={"campaign": "spring", "tries": [1, 2]})

    response = admin_client.get(change_url(copy))

    html = response.content.decode()
    assert '<ul class="errors-log"><li>Payment source: is expired</li>' in html
    assert "<li>Status: cannot transition from draft to placed</li>" in html
    assert '<pre class="json">{\n  &quot;campaign&quot;: &quot;spring&quot;' in html
    assert [row["name"] for row in response.context["events"]] == ["create", "start", "fail"]
    assert response.context["can_retry"] is True


def test_retry_button_makes_a_new_copy_and_keeps_the_failed_one(admin_client, admin_user):
    copy = failed_copy()
    fix_wallet(copy.order_subscription)

    response = admin_client.post(reverse("admin:copies_recurringordercopy_retry", args=[copy.pk]))

    retry = RecurringOrderCopy.objects.get(retry_of=copy)
    assert response.status_code == 302 and response["Location"] == change_url(retry)
    assert retry.cycle_at == copy.cycle_at
    copy.refresh_from_db()
    assert copy.status == CopyStatus.FAILED  # history
    assert Event.objects.get(resource_id=retry.pk, name="create").who == {"kind": "admin", "user": admin_user.username}
    assert admin_client.get(change_url(copy)).context["can_retry"] is False  # retried once only
    retry_page = admin_client.get(change_url(retry)).content.decode()
    assert f'retry of <a href="{change_url(copy)}">{copy.id}</a>' in retry_page


def test_retry_action_reports_each_copy(admin_client):
    failed = failed_copy()
    completed = completed_copy()

    response = admin_client.post(
        CHANGELIST, {"action": "retry_selected", "_selected_action": [failed.pk, completed.pk]}, follow=True
    )

    rows = {row["label"]: row for row in response.context["report"]["rows"]}
    retry = RecurringOrderCopy.objects.get(retry_of=failed)
    assert rows[failed.id]["outcome"] == "done"
    assert rows[failed.id]["related_url"] == change_url(retry)
    assert rows[completed.id]["outcome"] == "refused"
    assert rows[completed.id]["message"] == "Status: is completed: only failed copies can be retried"

    again = admin_client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": [failed.pk]}, follow=True)
    assert again.context["report"]["rows"][0]["message"] == "Retry of: this copy has already been retried"


def test_retry_needs_a_post(admin_client):
    copy = failed_copy()
    assert admin_client.get(reverse("admin:copies_recurringordercopy_retry", args=[copy.pk])).status_code == 405
    assert not RecurringOrderCopy.objects.filter(retry_of=copy).exists()


def test_copies_and_events_are_records_nobody_edits_or_deletes_here(admin_client):
    copy = failed_copy()

    response = admin_client.get(change_url(copy))

    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    assert admin_client.post(reverse("admin:copies_recurringordercopy_delete", args=[copy.pk])).status_code == 403
    actions = [name for name, _label in response.context.get("action_choices", [])]
    assert "delete_selected" not in actions


def test_the_models_first_error_names_the_cause():
    copy = failed_copy()
    assert copy.first_error == "payment_source: is expired"
