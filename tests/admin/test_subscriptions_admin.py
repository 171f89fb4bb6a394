"""The order subscriptions back-office: list, filters, search, bulk actions, change page, buttons."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from copies.models import CopyStatus, Event, RecurringOrderCopy
from subscriptions.models import OrderSubscription, SubscriptionStatus
from subscriptions.services import subscription_cancel, subscription_deactivate
from tests.admin.builders import failed_copy
from tests.factories import MarketFactory, PaymentSourceFactory, SubscriptionModelFactory, active_subscription

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:subscriptions_ordersubscription_changelist")


def change_url(subscription: OrderSubscription) -> str:
    return reverse("admin:subscriptions_ordersubscription_change", args=[subscription.pk])


def trigger_url(subscription: OrderSubscription, trigger: str) -> str:
    return reverse("admin:subscriptions_ordersubscription_trigger", args=[subscription.pk, trigger])


def listed_numbers(response) -> set[int]:
    return {subscription.number for subscription in response.context["cl"].result_list}


def run_action(client: Client, action: str, subscriptions, **extra):
    data = {"action": action, "_selected_action": [s.pk for s in subscriptions], **extra}
    return client.post(CHANGELIST, data, follow=True)


def report_rows(response) -> dict[str, tuple[str, str]]:
    """The action report as {"#1001": (outcome, message)}."""
    return {row["label"]: (row["outcome"], row["message"]) for row in response.context["report"]["rows"]}


# --- The list ----------------------------------------------------------------------------------


def test_list_shows_status_badge_frequency_in_words_and_a_failed_badge_on_the_last_run(admin_client):
    failing = failed_copy().order_subscription
    cron = active_subscription(frequency="30 * * * *")

    response = admin_client.get(CHANGELIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-status="{SubscriptionStatus.ACTIVE}"' in html
    assert "At 30 minutes past the hour" in html  # cron-descriptor's words, not the expression
    assert "Every month" in html
    assert html.count(">Failed</span>") == 1  # only the subscription whose last run failed
    assert listed_numbers(response) == {failing.number, cron.number}


def test_filters_status_last_run_frequency_market_and_next_run_range(admin_client):
    failing = failed_copy().order_subscription
    weekly = active_subscription(frequency="weekly")
    inactive = subscription_deactivate(active_subscription())
    other_market = MarketFactory()
    elsewhere = active_subscription(order=None, market=other_market)

    def numbers(query: str) -> set[int]:
        return listed_numbers(admin_client.get(f"{CHANGELIST}?{query}"))

    assert numbers("status__exact=inactive") == {inactive.number}
    assert numbers("last_run=failed") == {failing.number}
    assert failing.number not in numbers("last_run=succeeded")
    assert numbers("frequency=weekly") == {weekly.number}
    assert numbers(f"market__id__exact={other_market.pk}") == {elsewhere.number}
    weekly.refresh_from_db()
    day = timezone.localdate(weekly.next_run_at).isoformat()
    assert numbers(f"next_run_at__from={day}&next_run_at__to={day}") == {weekly.number}
    assert admin_client.get(f"{CHANGELIST}?next_run_at__from=not-a-date").status_code == 302  # Django's ?e=1


def test_search_by_number_email_source_order_number_and_reference(admin_client):
    target = active_subscription(reference="crm-42")
    other = active_subscription()

    def numbers(term: str) -> set[int]:
        return listed_numbers(admin_client.get(CHANGELIST, {"q": term}))

    assert numbers(str(target.number)) == {target.number}
    assert numbers(f"#{target.number}") == {target.number}
    assert numbers(str(target.source_order.number)) == {target.number}
    assert numbers(target.customer_email.upper()) == {target.number}
    assert numbers("crm-42") == {target.number}
    assert numbers(target.pk) == {target.number}
    assert other.number not in numbers("nobody@example.com")


def test_default_ordering_is_most_recently_updated_first(admin_client):
    older, newer = active_subscription(), active_subscription()
    OrderSubscription.objects.filter(pk=older.pk).update(updated_at=timezone.now() + timedelta(minutes=5))

    response = admin_client.get(CHANGELIST)

    assert [s.number for s in response.context["cl"].result_list] == [older.number, newer.number]


def changelist_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_list_query_count_does_not_grow_with_page_size(admin_client):
    failed_copy()
    active_subscription(frequency="30 * * * *")
    admin_client.get(CHANGELIST)  # warm caches (content types, session)
    with_two_rows = changelist_queries(admin_client, CHANGELIST)

    for _ in range(10):  # each with its own market, customer and source order
        failed_copy()
    with_twelve_rows = changelist_queries(admin_client, CHANGELIST)

    assert admin_client.get(CHANGELIST).context["cl"].result_count == 12
    assert with_twelve_rows == with_two_rows


# --- Bulk actions ------------------------------------------------------------------------------


def test_bulk_activate_reports_each_row_done_unchanged_or_refused(admin_client):
    inactive = subscription_deactivate(active_subscription())
    active = active_subscription()
    cancelled = subscription_cancel(active_subscription())

    response = run_action(admin_client, "activate_selected", [inactive, active, cancelled])

    rows = report_rows(response)
    assert rows[f"#{inactive.number}"][0] == "done"
    assert rows[f"#{active.number}"] == ("unchanged", "already active: nothing to do")
    outcome, why = rows[f"#{cancelled.number}"]
    assert outcome == "refused"
    assert why == "Status: cannot transition from cancelled to active (a cancelled subscription is final)"
    inactive.refresh_from_db()
    assert inactive.status == SubscriptionStatus.ACTIVE
    assert response.redirect_chain[-1][0].startswith(CHANGELIST + "action-report/")


def test_bulk_deactivate_goes_through_the_service_and_records_who(admin_client, admin_user):
    subscription = active_subscription()

    rows = report_rows(run_action(admin_client, "deactivate_selected", [subscription]))

    assert rows[f"#{subscription.number}"][0] == "done"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.INACTIVE
    event = Event.objects.get(resource_id=subscription.pk, name="deactivate")
    assert event.who == {"kind": "admin", "user": admin_user.username}
    history = LogEntry.objects.get(object_id=subscription.pk)  # the admin's own "History" page too
    assert (history.user, history.change_message) == (
        admin_user,
        "deactivated: no further runs until it is activated again",
    )


def test_bulk_cancel_asks_for_confirmation_first(admin_client):
    subscription, already = active_subscription(), subscription_cancel(active_subscription())

    confirmation = run_action(admin_client, "cancel_selected", [subscription, already])

    assert confirmation.templates[0].name == "admin/backoffice/confirm_action.html"
    assert "Cancelling is final" in confirmation.content.decode()
    assert confirmation.context["changing_count"] == 1
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE  # nothing happened yet

    done = run_action(admin_client, "cancel_selected", [subscription, already], confirmed="yes", reason="moved away")

    rows = report_rows(done)
    assert rows[f"#{subscription.number}"][0] == "done"
    assert rows[f"#{already.number}"] == ("unchanged", "already cancelled: nothing to do")
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert Event.objects.get(resource_id=subscription.pk, name="cancel").payload == {"reason": "moved away"}


def test_bulk_run_now_creates_one_copy_for_the_upcoming_cycle_and_moves_the_schedule(
    admin_client, django_capture_on_commit_callbacks
):
    subscription = active_subscription()
    upcoming = subscription.next_run_at
    inactive = subscription_deactivate(active_subscription())

    with django_capture_on_commit_callbacks(execute=True):  # the inline job runs the copy
        response = run_action(admin_client, "run_now_selected", [subscription, inactive])

    rows = report_rows(response)
    copy = RecurringOrderCopy.objects.get(order_subscription=subscription)
    assert copy.cycle_at == upcoming
    assert copy.status == CopyStatus.COMPLETED
    assert rows[f"#{subscription.number}"][0] == "done"
    # In a test the job runs when the captured on-commit callbacks do, after the request: the report
    # saw the copy still queued. (The browser tests see it completed, as a merchant does.)
    assert rows[f"#{subscription.number}"][1].startswith("ran the run due ")
    assert rows[f"#{inactive.number}"] == ("refused", "Status: is inactive: only active subscriptions can run")
    subscription.refresh_from_db()
    assert subscription.next_run_at > upcoming  # the scheduler will not run that cycle again

    run_action(admin_client, "run_now_selected", [subscription])  # the next cycle, never the same one twice
    cycles = list(RecurringOrderCopy.objects.filter(order_subscription=subscription).values_list("cycle_at", flat=True))
    assert len(cycles) == len(set(cycles)) == 2


def test_the_report_page_is_a_get_so_reloading_it_repeats_nothing(admin_client):
    subscription = active_subscription()
    response = run_action(admin_client, "deactivate_selected", [subscription])
    report_url = response.redirect_chain[-1][0]

    again = admin_client.get(report_url)

    assert again.status_code == 200
    assert Event.objects.filter(resource_id=subscription.pk, name="deactivate").count() == 1


def test_bulk_actions_refuse_huge_selections(admin_client, monkeypatch):
    from subscriptions.admin import OrderSubscriptionAdmin

    monkeypatch.setattr(OrderSubscriptionAdmin, "max_rows_per_action", 1)
    subscriptions = [active_subscription(), active_subscription()]

    response = run_action(admin_client, "deactivate_selected", subscriptions)

    assert "Select at most 1 rows at a time" in response.content.decode()
    assert not OrderSubscription.objects.filter(status=SubscriptionStatus.INACTIVE).exists()


# --- The change page ---------------------------------------------------------------------------


def change_data(subscription: OrderSubscription, **overrides) -> dict:
    """The change form as the browser would post it (split date and time widgets)."""
    next_run = timezone.localtime(subscription.next_run_at)
    data = {
        "frequency": subscription.frequency,
        "next_run_at_0": next_run.strftime("%Y-%m-%d"),
        "next_run_at_1": next_run.strftime("%H:%M:%S"),
        "expires_at_0": "",
        "expires_at_1": "",
        "customer_payment_source": subscription.customer_payment_source_id or "",
        "order_subscription_items-TOTAL_FORMS": "0",
        "order_subscription_items-INITIAL_FORMS": str(subscription.order_subscription_items.count()),
        "order_subscription_items-MIN_NUM_FORMS": "0",
        "order_subscription_items-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_change_page_shows_items_copies_events_and_the_allowed_buttons(admin_client):
    copy = failed_copy()
    subscription = copy.order_subscription

    response = admin_client.get(change_url(subscription))

    html = response.content.decode()
    assert response.status_code == 200
    for sku in subscription.order_subscription_items.values_list("sku_code", flat=True):
        assert sku in html
    assert copy.id in html and "Payment source: is expired" in html
    assert "Last run failed" in html  # the events timeline
    buttons = [trigger["name"] for trigger in response.context["triggers"]]
    assert buttons == ["deactivate", "run-now", "cancel"]
    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {"frequency", "next_run_at", "expires_at", "customer_payment_source"}


def test_editing_validates_with_the_service_and_shows_its_words_next_to_the_field(admin_client):
    subscription = active_subscription()
    past = timezone.localtime(timezone.now() - timedelta(days=1))

    response = admin_client.post(
        change_url(subscription),
        change_data(subscription, next_run_at_0=past.strftime("%Y-%m-%d"), frequency="*/5 * * * *"),
    )

    assert response.status_code == 200  # the form again, with errors
    errors = response.context["adminform"].form.errors
    assert errors["next_run_at"] == ["must be in the future"]
    assert "must not run more than once an hour" in errors["frequency"][0]
    subscription.refresh_from_db()
    assert subscription.frequency == "monthly"


def test_frequency_is_a_choice_among_the_market_models_frequencies(admin_client):
    model = SubscriptionModelFactory(frequencies=["weekly", "monthly"])
    market = MarketFactory(subscription_model=model)
    subscription = active_subscription(market=market)

    response = admin_client.get(change_url(subscription))
    choices = dict(response.context["adminform"].form.fields["frequency"].choices)
    assert choices == {"weekly": "Every week (weekly)", "monthly": "Every month (monthly)"}

    refused = admin_client.post(change_url(subscription), change_data(subscription, frequency="daily"))
    assert "frequency" in refused.context["adminform"].form.errors


def test_a_valid_edit_is_saved_through_the_service(admin_client):
    subscription = active_subscription()
    card = PaymentSourceFactory(customer=subscription.customer, mode=subscription.mode)
    new_next_run = timezone.localtime(timezone.now() + timedelta(days=3)).replace(microsecond=0, second=0)

    response = admin_client.post(
        change_url(subscription),
        change_data(
            subscription,
            frequency="weekly",
            next_run_at_0=new_next_run.strftime("%Y-%m-%d"),
            next_run_at_1=new_next_run.strftime("%H:%M:%S"),
            customer_payment_source=card.pk,
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    subscription.refresh_from_db()
    assert subscription.frequency == "weekly"
    assert subscription.next_run_at == new_next_run
    assert subscription.schedule_anchor == new_next_run  # the service re-anchored (D7)
    assert subscription.customer_payment_source == card


def test_only_the_customers_own_wallet_is_offered(admin_client):
    subscription = active_subscription()
    strangers_card = PaymentSourceFactory()

    data = change_data(subscription, customer_payment_source=strangers_card.pk)
    response = admin_client.post(change_url(subscription), data)

    assert "customer_payment_source" in response.context["adminform"].form.errors
    subscription.refresh_from_db()
    assert subscription.customer_payment_source != strangers_card


def test_a_cancelled_subscription_is_read_only_and_offers_no_button(admin_client):
    subscription = subscription_cancel(active_subscription())

    response = admin_client.get(change_url(subscription))

    assert response.context["triggers"] == []
    assert set(response.context["adminform"].form.fields) == set()


def test_buttons_post_to_the_services_and_explain_refusals(admin_client):
    subscription = active_subscription()

    assert admin_client.get(trigger_url(subscription, "deactivate")).status_code == 405
    response = admin_client.post(trigger_url(subscription, "deactivate"), follow=True)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.INACTIVE
    assert "is inactive" in response.content.decode()

    refused = admin_client.post(trigger_url(subscription, "run-now"), follow=True)
    assert "Run now refused for" in refused.content.decode()

    admin_client.post(trigger_url(subscription, "activate"))
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


def test_the_cancel_button_opens_a_confirmation_page(admin_client):
    subscription = active_subscription()

    confirmation = admin_client.get(trigger_url(subscription, "cancel"))
    assert confirmation.templates[0].name == "admin/backoffice/confirm_action.html"
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE

    admin_client.post(trigger_url(subscription, "cancel"), {"confirmed": "yes", "reason": "fraud"})
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
