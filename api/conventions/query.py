"""The query string of a JSON:API request: include, fields, sort, page and filter, validated up front.

Every parameter we do not know, and every value we cannot use, is a 400 whose `source.parameter`
names it; a request that passes here only touches declared attributes and relationships.
"""

import re
from dataclasses import dataclass, field

from django.http import QueryDict

from api.conventions.errors import BadParameter
from api.registry import ResourceSpec, get_spec

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 25
MAX_PAGE_NUMBER = 10_000_000
MAX_INCLUDE_DEPTH = 3
_FIELDS = re.compile(r"^fields\[([a-z_]+)\]$")
_FILTER = re.compile(r"^filter\[q\]\[([A-Za-z0-9_]+)\]$")
_NAME = re.compile(r"^[a-z_]+$")

IncludeTree = dict[str, "IncludeTree"]


@dataclass
class QueryOptions:
    include: IncludeTree = field(default_factory=dict)
    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    sort: list[str] = field(default_factory=list)
    page_number: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    filters: list[tuple[str, str, str]] = field(default_factory=list)


def parse_include(spec: ResourceSpec, raw: str) -> IncludeTree:
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


def parse_sort(spec: ResourceSpec, raw: str) -> list[str]:
    ordering = []
    for item in raw.split(","):
        name = item[1:] if item.startswith("-") else item
        attr = spec.attribute_map.get(name)
        if attr is None or not attr.sortable:
            raise BadParameter("sort", f"{name or item!r} is not a sortable field of {spec.type}.",
                               code="INVALID_SORT_CRITERIA", title="Invalid sort criteria")  # fmt: skip
        ordering.append(("-" if item.startswith("-") else "") + attr.source)
    return ordering


def _page_value(parameter: str, raw: str, *, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise BadParameter(parameter, f"{parameter} must be an integer between 1 and {maximum}.",
                           code="INVALID_PAGE_VALUE", title="Invalid page value")  # fmt: skip
    return value


def parse_query(
    params: QueryDict, spec: ResourceSpec, *, collection: bool, include_spec: ResourceSpec | None = None
) -> QueryOptions:
    """Options for `spec`; `collection` allows filter, sort and page (lists), else only include and fields."""
    options = QueryOptions()
    for parameter in params:
        raw = params.get(parameter, "")
        if parameter == "include":
            if raw:
                options.include = parse_include(include_spec or spec, raw)
            continue
        if match := _FIELDS.match(parameter):
            options.fields[match.group(1)] = parse_fields(parameter, match.group(1), raw)
            continue
        if collection and parameter == "sort":
            if raw:
                options.sort = parse_sort(spec, raw)
            continue
        if collection and parameter == "page[number]":
            options.page_number = _page_value(parameter, raw, maximum=MAX_PAGE_NUMBER)
            continue
        if collection and parameter == "page[size]":
            options.page_size = _page_value(parameter, raw, maximum=MAX_PAGE_SIZE)
            continue
        if collection and (match := _FILTER.match(parameter)):
            options.filters.append((parameter, match.group(1), raw))
            continue
        raise BadParameter(parameter, f"{parameter} is not an allowed parameter here.")
    return options
