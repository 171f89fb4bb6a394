"""The query string of a JSON:API request, validated up front, and the `sort` parameter.

Every parameter we do not know, and every value we cannot use, is a 400 whose `source.parameter`
names it. `JsonApiQueryValidation` (DJA's query parameter validation with Commerce Layer's parameter
names) checks which parameters an endpoint takes and reads `include` and `fields[...]`; the filter
backend checks `filter[q][...]`, `SortOrdering` checks `sort` and the pagination checks `page[...]`,
so a request that passes only touches declared attributes and relationships.
"""

import re
from dataclasses import dataclass, field

from rest_framework_json_api.filters import OrderingFilter, QueryParameterValidationFilter

from api.conventions.errors import BadParameter
from api.registry import ResourceSpec, get_spec

MAX_INCLUDE_DEPTH = 3

IncludeTree = dict[str, "IncludeTree"]


@dataclass
class QueryOptions:
    """What `include` and `fields[...]` ask of the document."""

    include: IncludeTree = field(default_factory=dict)
    fields: dict[str, frozenset[str]] = field(default_factory=dict)


def parse_include(spec: ResourceSpec, raw: str) -> IncludeTree:
    """`include=a,b.c` as a tree of relationship names, each checked against the declarations."""
    tree: IncludeTree = {}
    for path in raw.split(","):
        if not path:
            raise BadParameter("include", "include has an empty path.", code="INVALID_INCLUDE", title="Invalid include")
        segments = path.split(".")
        if len(segments) > MAX_INCLUDE_DEPTH:
            raise BadParameter("include", f"{path} is nested more than {MAX_INCLUDE_DEPTH} levels.",
                               code="INVALID_INCLUDE", title="Invalid include")  # fmt: skip
        current_spec, node = spec, tree
        for segment in segments:
            rel = current_spec.relationship_map.get(segment) if current_spec else None
            if rel is None:
                where = current_spec.type if current_spec else "this resource"
                raise BadParameter("include", f"{segment} is not a relationship of {where}.",
                                   code="INVALID_INCLUDE", title="Invalid include")  # fmt: skip
            node = node.setdefault(segment, {})
            current_spec = None if rel.empty else get_spec(rel.type)
    return tree


def parse_fields(parameter: str, resource_type: str, raw: str) -> frozenset[str]:
    target = get_spec(resource_type)
    if target is None:
        raise BadParameter(parameter, f"{resource_type} is not a resource type.", code="INVALID_FIELD",
                           title="Invalid field")  # fmt: skip
    names = [name for name in raw.split(",") if name]
    for name in names:
        if name not in target.field_names:
            raise BadParameter(parameter, f"{name} is not a field of {resource_type}.", code="INVALID_FIELD",
                               title="Invalid field")  # fmt: skip
    return frozenset(names)


class JsonApiQueryValidation(QueryParameterValidationFilter):
    """DJA's strict query parameter check, with Commerce Layer's parameters and error codes.

    DJA runs this backend while filtering a list; here every endpoint calls `query_options` from the
    view's `initial()`, so single resources, related endpoints and writes refuse what they do not
    take (a single resource takes only `include` and `fields[...]`).
    """

    query_regex = re.compile(r"^(?:include|fields\[(?P<type>[a-z_]+)\])$")
    list_regex = re.compile(r"^(?:sort|page\[(?:number|size)\]|filter\[q\]\[[A-Za-z0-9_]+\])$")

    def __init__(self, *, collection: bool = True) -> None:
        self.collection = collection  # lists also take sort, page[...] and filter[q][...]

    def validate_query_params(self, request) -> None:
        for parameter in request.query_params:
            if self.query_regex.match(parameter) or (self.collection and self.list_regex.match(parameter)):
                continue
            raise BadParameter(parameter, f"{parameter} is not an allowed parameter here.")

    def query_options(self, request, spec: ResourceSpec) -> QueryOptions:
        """Check the parameters' names, then read `include` (relative to `spec`) and `fields[...]`."""
        self.validate_query_params(request)
        options = QueryOptions()
        params = request.query_params
        for parameter in params:
            match = self.query_regex.match(parameter)
            if match is None:
                continue  # a list parameter: the filter backend, SortOrdering and the pagination read it
            raw = params.get(parameter, "")
            if match.group("type") is not None:
                options.fields[match.group("type")] = parse_fields(parameter, match.group("type"), raw)
            elif raw:
                options.include = parse_include(spec, raw)
        return options


class SortOrdering(OrderingFilter):
    """DJA's `sort` backend over the declared sortable attributes; newest first by default, `id` breaks ties.

    An unknown or unsortable field is Commerce Layer's 400 INVALID_SORT_CRITERIA naming `sort`.
    """

    def remove_invalid_fields(self, queryset, fields, view, request) -> list[str]:
        spec = view.listed_spec
        ordering = []
        for item in fields:
            name = item.removeprefix("-")
            attr = spec.attribute_map.get(name)
            if attr is None or not attr.sortable:
                raise BadParameter("sort", f"{name or item!r} is not a sortable field of {spec.type}.",
                                   code="INVALID_SORT_CRITERIA", title="Invalid sort criteria")  # fmt: skip
            ordering.append(("-" if item.startswith("-") else "") + attr.source)
        return ordering

    def get_default_ordering(self, view) -> list[str]:
        return list(view.listed_spec.default_sort)

    def get_ordering(self, request, queryset, view) -> list[str]:
        # Without a unique last key, rows that tie would move between pages.
        return [*super().get_ordering(request, queryset, view), "id"]
