"""A merchant's day in the back-office, in a real browser: "which renewals failed and why?", fix one,
act on several subscriptions at once, check the dashboard."""

import pytest
from playwright.sync_api import expect

from copies.models import CopyStatus, RecurringOrderCopy
from subscriptions.models import OrderSubscription, SubscriptionStatus
from tests.admin.builders import failed_copy, fix_wallet
from tests.factories import active_subscription

pytestmark = pytest.mark.browser


def test_log_in_and_open_the_dashboard(page, log_in, screenshot):
    failed_copy()
    active_subscription()

    page.goto("/admin/")
    expect(page).to_have_url("/admin/login/?next=/admin/")
    log_in("/admin/")

    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#subscriptions-by-status td[data-status=active]")).to_have_text("2")
    expect(page.locator("#outcomes-24h td").nth(1)).to_have_text("1")  # failed in the last 24 hours
    expect(page.locator("#copies-chart svg rect[data-status=failed]")).to_have_count(1)
    expect(page.locator("[data-queue-state=inline]")).to_contain_text("REDIS_URL is not set")
    screenshot("dashboard")


def test_filter_failed_copies_read_the_error_and_retry(page, log_in, screenshot):
    copy = failed_copy()
    active_subscription()  # and one that renews fine
    log_in("/admin/copies/recurringordercopy/")

    page.get_by_role("link", name="Failed", exact=True).first.click()
    expect(page).to_have_url("/admin/copies/recurringordercopy/?status__exact=failed")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Payment source: is expired")
    screenshot("copies-failed")

    rows.first.get_by_role("link", name=copy.id).click()
    errors = page.locator("ul.errors-log").first
    expect(errors).to_contain_text("Payment source: is expired")
    expect(errors).to_contain_text("Status: cannot transition from draft to placed")
    expect(page.locator("#copy-events")).to_contain_text("Failed")
    screenshot("copy-failed-detail")

    fix_wallet(copy.order_subscription)  # the customer saved a new card; support retries the renewal
    page.get_by_role("button", name="Retry this copy").click()

    retry = RecurringOrderCopy.objects.get(retry_of=copy)
    expect(page).to_have_url(f"/admin/copies/recurringordercopy/{retry.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text(f"Retried {copy.id} as {retry.id}: it is completed")
    assert retry.status == CopyStatus.COMPLETED  # the job ran inline, as `make run` does
    screenshot("copy-retried")


def test_bulk_cancel_with_confirmation_and_a_per_row_report(page, log_in, screenshot):
    first, second = active_subscription(), active_subscription()
    already = active_subscription()
    already.status = SubscriptionStatus.CANCELLED
    already.save()
    log_in("/admin/subscriptions/ordersubscription/")

    for subscription in (first, second, already):
        page.locator(f"#result_list tr:has(a:text-is('{subscription.number}')) input.action-select").check()
    page.select_option("select[name=action]", "cancel_selected")
    page.get_by_role("button", name="Go").click()

    expect(page.locator("h1")).to_have_text("Cancel subscriptions?")
    expect(page.locator("p.errornote")).to_contain_text("Cancelling is final")
    page.fill("#id_reason", "customer asked by phone")
    screenshot("subscriptions-cancel-confirmation")
    page.get_by_role("button", name="Yes, cancel these subscriptions").click()

    report = page.locator("#action-report")
    expect(report.locator("tr.row-done")).to_have_count(2)
    expect(report.locator("tr.row-unchanged")).to_contain_text("already cancelled: nothing to do")
    assert set(OrderSubscription.objects.values_list("status", flat=True)) == {SubscriptionStatus.CANCELLED}
    screenshot("subscriptions-cancel-report")


def test_run_now_from_the_list(page, log_in, screenshot):
    subscription = active_subscription()
    log_in("/admin/subscriptions/ordersubscription/")

    page.locator("#result_list input.action-select").first.check()
    page.select_option("select[name=action]", "run_now_selected")
    page.get_by_role("button", name="Go").click()

    row = page.locator("#action-report tr.row-done")
    expect(row).to_contain_text("completed: order #")
    copy = RecurringOrderCopy.objects.get(order_subscription=subscription)
    expect(row.get_by_role("link", name=copy.id)).to_be_visible()
    screenshot("subscriptions-run-now-report")
