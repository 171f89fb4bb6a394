"""Building blocks shared by the back-office admins: counts that stay cheap on big tables, date range
filters, status badges, per-row reports of bulk actions, and exact, index-backed search.

Nothing here decides business rules: admins call the services and these helpers only present
what the services did or refused.
"""

import json
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from copies.events import acting_as
from orders.errors import in_reading_order
from subscriptions.schedule import describe_frequency

# --- Counting rows -----------------------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """Exact counts for small results; the planner's estimate for big ones on PostgreSQL.

    `COUNT(*)` over a million rows reads a million rows on every page load. Counting at most
    `exact_count_limit + 1` rows is cheap and tells whether the result is small; only when it
    is not do we ask PostgreSQL's planner for its row estimate (EXPLAIN, no rows read).
    On other databases (SQLite for the demo) the count stays exact.
    """

    exact_count_limit = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        unordered = queryset.order_by()
        capped = unordered.values("pk")[: self.exact_count_limit + 1].count()
        if capped <= self.exact_count_limit or connections[queryset.db].vendor != "postgresql":
            return capped if capped <= self.exact_count_limit else unordered.count()
        self.count_is_estimated = True
        return max(planner_row_estimate(unordered), capped)

    count_is_estimated = False


def planner_row_estimate(queryset: QuerySet) -> int:
    """PostgreSQL's estimate of how many rows `queryset` returns (0 when it cannot tell)."""
    plan = json.loads(queryset.explain(format="json"))
    # `explain` returns the JSON document as text; its first element holds the top plan node.
    document = plan[0] if isinstance(plan, list) else plan
    return int(document.get("Plan", {}).get("Plan Rows", 0))


class BackOfficeAdmin(admin.ModelAdmin):
    """Defaults for admins over tables that grow without bound, and the page that reports what a
    bulk action did to each row."""

    paginator = EstimatedCountPaginator
    list_per_page = 50
    # Each of these would add a query over the whole table to every page load.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # "Select all 1,000,000" then "cancel" must not lock the table for minutes.
    max_rows_per_action = 500

    def get_urls(self):
        opts = self.model._meta
        report = path(
            "action-report/<str:token>/",
            self.admin_site.admin_view(self.action_report_view),
            name=f"{opts.app_label}_{opts.model_name}_action_report",
        )
        # Before the default URLs: their `<path:object_id>/` would swallow these.
        return [report, *self.extra_urls(), *super().get_urls()]

    def extra_urls(self) -> list:
        return []

    def too_many_selected(self, request: HttpRequest, queryset: QuerySet) -> bool:
        limit = self.max_rows_per_action
        if queryset.order_by()[: limit + 1].count() <= limit:
            return False
        self.message_user(
            request,
            f"Select at most {limit} rows at a time: narrow the list with the filters first.",
            messages.ERROR,
        )
        return True

    def action_report_view(self, request: HttpRequest, token: str) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        report = load_report(request, token)
        opts = self.model._meta
        if report is None:
            self.message_user(request, "That report has expired; the list shows the current state.", messages.INFO)
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": report["title"],
            "report": report,
            "counts": summarise([RowOutcome(**row) for row in report["rows"]]),
        }
        return TemplateResponse(request, "admin/backoffice/action_report.html", context)


# --- Presenting values -------------------------------------------------------------------------

BADGE_TONES = {
    # subscriptions
    "active": "success",
    "running": "info",
    "draft": "neutral",
    "inactive": "warning",
    "cancelled": "muted",
    # copies
    "completed": "success",
    "failed": "danger",
    "aborted": "muted",
    "pending": "warning",
    "in_progress": "info",
    # orders
    "placed": "success",
    "approved": "success",
}


def status_badge(status: str, label: str | None = None) -> SafeString:
    """A coloured pill with the status in words; the colour only repeats what the words say."""
    tone = BADGE_TONES.get(status, "neutral")
    return format_html('<span class="badge badge-{}" data-status="{}">{}</span>', tone, status, label or status)


class StatusBadgeColumn:
    """Admin mixin: a `status_badge` column for models with a `status` choices field."""

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Model) -> SafeString:
        return status_badge(obj.status, obj.get_status_display())


FAILED_BADGE = format_html('<span class="badge badge-danger" title="{}">Failed</span>', "The last run did not succeed")


def short_moment(moment: datetime | None) -> SafeString | str:
    """A list cell's date and time, compact and on one line, in the admin's time zone."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    # The year only when it is not this year's: list columns stay narrow; the title has it all.
    shown = f"{local:%d %b %H:%M}" if local.year == timezone.localdate().year else f"{local:%d %b %Y %H:%M}"
    return format_html(
        '<time datetime="{}" title="{}" class="moment">{}</time>',
        moment.isoformat(),
        f"{local:%Y-%m-%d %H:%M:%S %Z}",
        shown,
    )


@lru_cache(maxsize=2048)
def frequency_in_words(frequency: str) -> str:
    """`describe_frequency`, memoised: a list page describes the same few frequencies many times."""
    return describe_frequency(frequency)


def money(cents: int | None, currency_code: str) -> str:
    if cents is None:
        return "—"
    return f"{cents / 100:,.2f} {currency_code}".strip()


def admin_link(obj: Model | None, label: object | None = None) -> SafeString | str:
    """A link to the object's admin change page, or a dash when there is none."""
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


def changelist_url(model: type[Model], **filters: object) -> str:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    if not filters:
        return url
    from urllib.parse import urlencode

    return f"{url}?{urlencode(filters)}"


def readable_errors(errors: dict[str, list[str]] | ValidationError) -> list[str]:
    """`{"payment_source": ["is expired"]}` as `["Payment source: is expired"]`."""
    if isinstance(errors, ValidationError):
        errors = errors.message_dict if hasattr(errors, "error_dict") else {"base": errors.messages}
    lines = []
    for attribute, problems in in_reading_order(errors or {}):
        for message in [problems] if isinstance(problems, str) else problems:
            if attribute in ("base", "__all__"):
                lines.append(str(message))
            else:
                lines.append(f"{attribute.replace('_', ' ').capitalize()}: {message}")
    return lines


def errors_list_html(errors: dict[str, list[str]] | None) -> SafeString | str:
    lines = readable_errors(errors or {})
    if not lines:
        return "—"
    return format_html(
        '<ul class="errors-log">{}</ul>', format_html_join("", "<li>{}</li>", ((line,) for line in lines))
    )


ACTORS_IN_WORDS = {"scheduler": "the scheduler", "worker": "a worker", "system": "the system", "seed_demo": "demo data"}


def who_in_words(who: dict | None) -> str:
    """An event's `who` as a merchant reads it: 'admin alice', 'the scheduler', 'a worker'."""
    who = who or {}
    kind = who.get("kind", "system")
    if kind == "admin":
        return f"admin {who.get('user') or '?'}"
    if kind == "api":
        client = who.get("client") or who.get("application") or who.get("user")
        return f"API ({client})" if client else "API"
    return ACTORS_IN_WORDS.get(kind, kind.replace("_", " "))


def pretty_json(value: object) -> SafeString:
    """Metadata and payloads as indented JSON a person can read."""
    if not value:
        return format_html('<span class="quiet">{}</span>', "empty")
    return format_html('<pre class="json">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


EVENT_NAMES_IN_WORDS = {
    "create": "created",
    "start": "started",
    "complete": "completed",
    "fail": "failed",
    "abort": "aborted",
    "activate": "activated",
    "deactivate": "deactivated",
    "cancel": "cancelled",
    "renewal": "renewal alert sent",
    "last_run_succeeded": "last run succeeded",
    "last_run_failed": "last run failed",
    "place": "placed",
}


# Events recorded in the same instant (a copy's start and its outcome share the run's clock) are
# shown in the order they logically happen.
EVENT_ORDER_WITHIN_AN_INSTANT = {"create": 0, "start": 1}


def timeline(events: Iterable, *, newest_first: bool = False) -> list[dict]:
    """Events as rows a merchant reads: when, what, who, and the details that matter."""
    rows = []
    for event in events:
        payload = event.payload or {}
        rows.append(
            {
                "at": event.created_at,
                "what": EVENT_NAMES_IN_WORDS.get(event.name, event.name.replace("_", " ")),
                "name": event.name,
                "who": who_in_words(event.who),
                "reason": payload.get("reason", ""),
                "errors": readable_errors(payload.get("errors_log") or {}),
            }
        )
    rows.sort(key=lambda row: (row["at"], EVENT_ORDER_WITHIN_AN_INSTANT.get(row["name"], 2)), reverse=newest_first)
    return rows


# --- Date range filters ------------------------------------------------------------------------


class DateRangeFilter(admin.FieldListFilter):
    """Presets plus a from/to form; both ends are whole days in the current time zone, inclusive.

    The query string carries plain dates (`next_run_at__from=2026-03-01`) so a filtered list is a
    link a merchant can bookmark or paste to a colleague.
    """

    template = "admin/backoffice/date_range_filter.html"
    looks_ahead = False  # presets for past dates (copies) or for coming dates (next run)

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.parameter_from = f"{field_path}__from"
        self.parameter_to = f"{field_path}__to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.date_from = self._parse(self.parameter_from)
        self.date_to = self._parse(self.parameter_to)

    def expected_parameters(self) -> list[str]:
        return [self.parameter_from, self.parameter_to]

    def _parse(self, parameter: str) -> date | None:
        value = self.used_parameters.get(parameter)
        if isinstance(value, list):
            value = value[-1] if value else None
        if not value:
            return None
        parsed = parse_date(str(value))
        if parsed is None:
            raise IncorrectLookupParameters(f"{parameter} must be a date like 2026-03-01")
        return parsed

    def queryset(self, request, queryset):
        zone = timezone.get_current_timezone()
        if self.date_from:
            queryset = queryset.filter(
                **{f"{self.field_path}__gte": datetime.combine(self.date_from, time.min, tzinfo=zone)}
            )
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=zone)
            queryset = queryset.filter(**{f"{self.field_path}__lt": end})
        return queryset

    def presets(self) -> list[tuple[str, date | None, date | None]]:
        today = timezone.localdate()
        if self.looks_ahead:
            return [
                ("Today", today, today),
                ("Next 7 days", today, today + timedelta(days=6)),
                ("Next 30 days", today, today + timedelta(days=29)),
                ("Overdue", None, today - timedelta(days=1)),
            ]
        return [
            ("Today", today, today),
            ("Past 7 days", today - timedelta(days=6), today),
            ("Past 30 days", today - timedelta(days=29), today),
        ]

    def choices(self, changelist):
        # The from/to form keeps the list's other filters as hidden fields.
        self.hidden_parameters = self.preserved_parameters(changelist)
        yield {
            "selected": self.date_from is None and self.date_to is None,
            "query_string": changelist.get_query_string(remove=self.expected_parameters()),
            "display": "Any date",
        }
        for label, start, end in self.presets():
            wanted = {self.parameter_from: start.isoformat() if start else None}
            wanted[self.parameter_to] = end.isoformat() if end else None
            yield {
                "selected": (self.date_from, self.date_to) == (start, end),
                "query_string": changelist.get_query_string(
                    {name: value for name, value in wanted.items() if value},
                    [name for name, value in wanted.items() if not value],
                ),
                "display": label,
            }

    def preserved_parameters(self, changelist) -> list[tuple[str, str]]:
        """The list's other parameters, kept as hidden fields by the from/to form."""
        skip = {*self.expected_parameters(), "p"}
        return [
            (name, value)
            for name, values in changelist.params.items()
            if name not in skip
            for value in (values if isinstance(values, list) else [values])
        ]


class FutureDateRangeFilter(DateRangeFilter):
    looks_ahead = True


# --- Search ------------------------------------------------------------------------------------

BIGINT_MAX = 2**63 - 1


def search_number(term: str) -> int | None:
    """`1234` or `#1234` as a number, else None."""
    digits = term.strip().lstrip("#")
    if digits.isdigit() and int(digits) <= BIGINT_MAX:
        return int(digits)
    return None


def email_variants(term: str) -> list[str]:
    """Exact email matches (as typed and lower-cased) use the plain index on the email column;
    a `contains` match would read the whole table on every search."""
    return sorted({term, term.lower()}) if "@" in term else []


def resource_id_or_reference(term: str) -> Q:
    return Q(pk=term) | Q(reference=term)


def ids_of(queryset: QuerySet, limit: int = 100) -> list:
    """The primary keys a search term resolves to, fetched first (a tiny indexed query).

    `column IN (subquery)` OR-ed with other conditions makes PostgreSQL filter every row of the big
    table; `column IN (literal ids)` lets it combine one index scan per condition (a BitmapOr).
    """
    return list(queryset.values_list("pk", flat=True)[:limit])


# --- Bulk actions and their report -------------------------------------------------------------


@dataclass
class RowOutcome:
    """What one action did to one row: `done`, `unchanged` (nothing to do) or `refused`."""

    label: str
    url: str
    outcome: str
    message: str
    # What the action made, e.g. the new recurring order copy of a "run now".
    related_label: str = ""
    related_url: str = ""


REPORTS_SESSION_KEY = "backoffice_action_reports"
REPORTS_KEPT = 5


@contextmanager
def acting_as_admin(request: HttpRequest) -> Iterator[None]:
    """Events recorded inside the block say which staff member caused them."""
    with acting_as({"kind": "admin", "user": request.user.get_username()}):
        yield


def apply_to_each(
    request: HttpRequest,
    objects: Iterable[Model],
    apply: Callable[[Model], tuple],
    *,
    model_admin: admin.ModelAdmin,
    label: Callable[[Model], str] = str,
) -> list[RowOutcome]:
    """Run `apply(obj) -> (outcome, message[, related object])` on every row, each in its own
    service transaction.

    A refusal (a ValidationError from the service) is reported with its reason and does not stop
    the other rows; a row deleted meanwhile is reported as refused too. What was done also goes to
    the object's admin history.
    """
    outcomes = []
    with acting_as_admin(request):
        for obj in objects:
            url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
            related = None
            try:
                outcome, message, *rest = apply(obj)
                related = rest[0] if rest else None
            except ValidationError as exc:
                outcome, message = "refused", "; ".join(readable_errors(exc))
            except ObjectDoesNotExist:
                outcome, message = "refused", "it no longer exists"
            row = RowOutcome(label=label(obj), url=url, outcome=outcome, message=message)
            if outcome == "done":
                model_admin.log_change(request, obj, message)
            if related is not None:
                row.related_label = str(related)
                row.related_url = reverse(
                    f"admin:{related._meta.app_label}_{related._meta.model_name}_change", args=[related.pk]
                )
            outcomes.append(row)
    return outcomes


def store_report(request: HttpRequest, *, title: str, back_url: str, rows: list[RowOutcome]) -> str:
    """Keep the report in the session and return its token, so the page after the action is a
    GET (reloading it cannot run the action twice)."""
    token = secrets.token_urlsafe(8)
    reports = dict(request.session.get(REPORTS_SESSION_KEY, {}))
    reports[token] = {"title": title, "back_url": back_url, "rows": [asdict(row) for row in rows]}
    request.session[REPORTS_SESSION_KEY] = dict(list(reports.items())[-REPORTS_KEPT:])
    return token


def load_report(request: HttpRequest, token: str) -> dict | None:
    return request.session.get(REPORTS_SESSION_KEY, {}).get(token)


def redirect_to_report(request: HttpRequest, model_admin: admin.ModelAdmin, *, title: str, rows: list[RowOutcome]):
    opts = model_admin.model._meta
    back_url = request.get_full_path()
    token = store_report(request, title=title, back_url=back_url, rows=rows)
    return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_action_report", args=[token]))


def confirmation_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    title: str,
    objects: list[Model],
    will_change: list[Model],
    warning: str,
    confirm_label: str,
    action: str = "",
    form_url: str = "",
    with_reason: bool = False,
) -> TemplateResponse:
    """ "Are you sure?" for an action that cannot be undone, listing what it will and won't change.

    Posted back to the changelist with the bulk action's name and the selected ids (as Django's
    own delete confirmation does), or to `form_url` for a button on a change page.
    """
    ids_changing = {obj.pk for obj in will_change}
    rows = [
        {
            "label": str(obj),
            "url": reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]),
            "status": status_badge(obj.status, obj.get_status_display()) if hasattr(obj, "status") else "",
            "will_change": obj.pk in ids_changing,
        }
        for obj in objects
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "rows": rows,
        "changing_count": len(ids_changing),
        "unchanged_count": len(rows) - len(ids_changing),
        "warning": warning,
        "confirm_label": confirm_label,
        "action": action,
        "form_url": form_url,
        "with_reason": with_reason,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "selected_ids": [obj.pk for obj in objects],
    }
    return TemplateResponse(request, "admin/backoffice/confirm_action.html", context)


def summarise(rows: list[RowOutcome]) -> dict[str, int]:
    counts = {"done": 0, "unchanged": 0, "refused": 0}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    return counts
