"""Building JSON:API documents from rows, the hot path of every GET.

Rows are plain dicts from `.values(*spec.columns_with(...))`, never model instances: no per-field serializer
objects, one precomputed plan per resource type and fieldset, and `included` resources loaded with
one query per include path whatever the page size. `render_resource_document` is the same document
a GET returns, for callers outside a request (webhooks).
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import models

from api.conventions.query import IncludeTree, parse_include
from api.registry import Rel, ResourceSpec, get_spec, spec_for_model

Row = dict[str, Any]
Key = tuple[str, str]


class DocumentBuilder:
    """Renders resource objects for one request: base URL, sparse fieldsets, linkage of included relationships."""

    __slots__ = ("base", "fields", "linkage", "included")

    def __init__(self, *, base_url: str, fields: dict[str, frozenset[str]] | None = None) -> None:
        self.base = base_url.rstrip("/") + "/api/"
        self.fields = fields or {}
        self.linkage: dict[Key, dict[str, Any]] = defaultdict(dict)
        self.included: dict[Key, tuple[ResourceSpec, Row]] = {}

    def resource(self, spec: ResourceSpec, row: Row) -> dict[str, Any]:
        attributes_plan, relationships_plan = spec.render_plan(self.fields.get(spec.type))
        resource_id = row["id"]
        self_url = f"{self.base}{spec.type}/{resource_id}"
        attributes = {}
        for name, column, formatter, compute in attributes_plan:
            if compute is not None:
                attributes[name] = compute(row)
            else:
                value = row[column]
                attributes[name] = formatter(value) if formatter is not None and value is not None else value
        linkage = self.linkage.get((spec.type, resource_id))
        relationships = {}
        for rel in relationships_plan:
            name = rel.name
            entry: dict[str, Any] = {
                "links": {"self": f"{self_url}/relationships/{name}", "related": f"{self_url}/{name}"}
            }
            if linkage is not None and name in linkage:
                entry["data"] = linkage[name]
            relationships[name] = entry
        return {
            "id": resource_id,
            "type": spec.type,
            "links": {"self": self_url},
            "attributes": attributes,
            "relationships": relationships,
            "meta": {"mode": row["mode"]},
        }

    # --- includes ---------------------------------------------------------------------------

    def load_includes(self, spec: ResourceSpec, rows: Sequence[Row], tree: IncludeTree, mode: str) -> None:
        """Fetch every included resource: one query per include path, whatever the number of rows."""
        if not tree or not rows:
            return
        for name, subtree in tree.items():
            rel = spec.relationship_map[name]
            children = self._load_relationship(spec, rel, rows, mode, subtree)
            target = get_spec(rel.type) if not rel.empty else None
            if target is not None and subtree:
                self.load_includes(target, children, subtree, mode)

    def _load_relationship(
        self, spec: ResourceSpec, rel: Rel, rows: Sequence[Row], mode: str, subtree: IncludeTree
    ) -> list[Row]:
        linkage = self.linkage
        if rel.empty:
            for row in rows:
                linkage[(spec.type, row["id"])][rel.name] = [] if rel.many else None
            return []
        target = get_spec(rel.type)
        if not rel.many:
            ids = {row[rel.column] for row in rows if row[rel.column] is not None}
            columns = target.columns_with(subtree)
            children = list(target.base_queryset(mode).filter(pk__in=ids).values(*columns)) if ids else []
            found = {child["id"] for child in children}
            for row in rows:
                related_id = row[rel.column]
                linkage[(spec.type, row["id"])][rel.name] = (
                    {"type": target.type, "id": related_id} if related_id is not None and related_id in found else None
                )
        else:
            parent_ids = [row["id"] for row in rows]
            columns = target.columns_with(subtree)
            columns = columns if rel.reverse in columns else (*columns, rel.reverse)
            children = list(
                target.base_queryset(mode)
                .filter(**{f"{rel.reverse}__in": parent_ids}, **rel.reverse_filter)
                .order_by(*target.default_sort, "id")
                .values(*columns)
            )
            grouped: dict[str, list] = defaultdict(list)
            for child in children:
                grouped[child[rel.reverse]].append({"type": target.type, "id": child["id"]})
            for row in rows:
                linkage[(spec.type, row["id"])][rel.name] = grouped.get(row["id"], [])
        for child in children:
            self.included.setdefault((target.type, child["id"]), (target, child))
        return children

    def included_resources(self, primary: Iterable[Key]) -> list[dict[str, Any]]:
        primary = set(primary)
        return [self.resource(spec, row) for key, (spec, row) in self.included.items() if key not in primary]


# --- whole documents ------------------------------------------------------------------------


def single_document(
    builder: DocumentBuilder, spec: ResourceSpec, row: Row, include: IncludeTree, mode: str
) -> dict[str, Any]:
    builder.load_includes(spec, [row], include, mode)
    document: dict[str, Any] = {"data": builder.resource(spec, row)}
    if include:
        document["included"] = builder.included_resources([(spec.type, row["id"])])
    return document


def list_document(
    builder: DocumentBuilder,
    spec: ResourceSpec,
    rows: list[Row],
    *,
    include: IncludeTree,
    mode: str,
    record_count: int,
    page_number: int,
    page_size: int,
    url: str,
    other_params: list[tuple[str, str]],
) -> dict[str, Any]:
    builder.load_includes(spec, rows, include, mode)
    document: dict[str, Any] = {"data": [builder.resource(spec, row) for row in rows]}
    if include:
        document["included"] = builder.included_resources((spec.type, row["id"]) for row in rows)
    page_count = math.ceil(record_count / page_size)
    document["meta"] = {"record_count": record_count, "page_count": page_count}
    document["links"] = pagination_links(url, page_number, page_size, page_count, other_params)
    return document


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


def fetch_row(spec: ResourceSpec, mode: str, resource_id: str, relationships: Iterable[str] = ()) -> Row | None:
    columns = spec.columns_with(relationships)
    return spec.base_queryset(mode).filter(pk=resource_id).values(*columns).first()


def base_url_for(request=None) -> str:
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return settings.API_BASE_URL


def render_resource_document(instance: models.Model, *, include: Sequence[str] = (), request=None) -> dict[str, Any]:
    """Exactly the document `GET /api/{type}/{id}?include=...` returns for `instance` (used by webhooks).

    Links are absolute: from the request when there is one, else from settings.API_BASE_URL.
    Raises LookupError when the row no longer exists.
    """
    spec = spec_for_model(type(instance))
    mode = instance.mode
    tree = parse_include(spec, ",".join(include)) if include else {}
    row = fetch_row(spec, mode, instance.pk, tree)
    if row is None:
        raise LookupError(f"{spec.type} {instance.pk} does not exist")
    builder = DocumentBuilder(base_url=base_url_for(request))
    return single_document(builder, spec, row, tree, mode)
