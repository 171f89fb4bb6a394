"""Commerce Layer's pagination: `page[number]`, `page[size]` (10 by default, 25 at most), `meta` and `links`."""

import math
from urllib.parse import quote

from django.db.models import QuerySet
from rest_framework.response import Response
from rest_framework_json_api.pagination import JsonApiPageNumberPagination

from api.conventions.errors import BadParameter

MAX_PAGE_NUMBER = 10_000_000


class CommerceLayerPagination(JsonApiPageNumberPagination):
    """DJA's page-number pagination with Commerce Layer's rules and document members.

    - A `page[size]` or `page[number]` out of range is a 400 INVALID_PAGE_VALUE, not silently clamped.
    - A page past the last is an empty `data`, not a 404 (Django's Paginator would refuse it).
    - `meta` is `{record_count, page_count}`; `links` are `first`, `prev` (not on page 1), `next` (not on
      the last page) and `last`, each with `page[number]`, `page[size]` and the request's other parameters.
    - `paginate_queryset` returns the page as a lazy slice: the view reads it as rows (`.values()`),
      with its included resources, instead of model instances.
    """

    page_size = 10
    max_page_size = 25

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> QuerySet:
        self.request = request
        self.page_number = self._page_value(self.page_query_param, maximum=MAX_PAGE_NUMBER, default=1)
        self.page_size = self._page_value(self.page_size_query_param, maximum=self.max_page_size,
                                          default=self.page_size)  # fmt: skip
        self.record_count = queryset.count()
        offset = (self.page_number - 1) * self.page_size
        return queryset[offset : offset + self.page_size]

    def _page_value(self, parameter: str, *, maximum: int, default: int) -> int:
        raw = self.request.query_params.get(parameter)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= maximum:
            raise BadParameter(parameter, f"{parameter} must be an integer between 1 and {maximum}.",
                               code="INVALID_PAGE_VALUE", title="Invalid page value")  # fmt: skip
        return value

    def get_meta(self) -> dict[str, int]:
        return {"record_count": self.record_count, "page_count": math.ceil(self.record_count / self.page_size)}

    def get_paginated_response(self, data) -> Response:
        meta = self.get_meta()
        return Response({"results": data, "meta": meta, "links": self.get_links(meta["page_count"])})

    def get_links(self, page_count: int) -> dict[str, str]:
        request = self.request
        url = request.build_absolute_uri(request.path).rstrip("/")
        other = [(key, request.query_params.get(key)) for key in request.query_params if not key.startswith("page[")]
        return pagination_links(url, self.page_number, self.page_size, page_count, other)


def _query(params: list[tuple[str, str]]) -> str:
    # Brackets and commas stay readable, as in Commerce Layer's links (`page[number]=2&page[size]=10`).
    return "&".join(f"{quote(key, safe='[]')}={quote(value, safe='[],:')}" for key, value in params)


def pagination_links(
    url: str, page_number: int, page_size: int, page_count: int, other_params: list[tuple[str, str]]
) -> dict[str, str]:
    last = max(page_count, 1)

    def link(number: int) -> str:
        return f"{url}?{_query([('page[number]', str(number)), ('page[size]', str(page_size)), *other_params])}"

    links = {"first": link(1)}
    if page_number > 1:
        links["prev"] = link(min(page_number - 1, last))
    if page_number < last:
        links["next"] = link(page_number + 1)
    links["last"] = link(last)
    return links
