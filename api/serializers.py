"""DJA serializers generated from the resource declarations: one class per type (`serializer_for`).

Each `ResourceSpec` becomes a `rest_framework_json_api.serializers.Serializer` subclass with
`JSONAPIMeta.resource_name`, a DRF field per attribute (typed after the declaration), a
`RelationshipField` (DJA's `ResourceRelatedField`, with self and related link view names) per
relationship, `included_serializers` for every relationship to a served type, and `mode` as a meta
field.

Reading: serializers take rows from `.values()` (DRF serializers read mappings as well as model
instances), loaded with their included resources by `api.includes`. `to_representation` runs a
plan compiled once per class and sparse fieldset from the same fields: for a value of its column's
own type, DRF's per-field `get_attribute` / `to_representation` calls come down to one formatting
function or none, and the plan calls just that (tests check it against DRF's own
`Serializer.to_representation`, field by field). That per-field machinery was most of the cost of a
page of 25 resources with their includes (decision A1).

Writing: `to_internal_value` reads Commerce Layer's document (`api.conventions.input`), resolving
relationship linkage through the relationship fields in the token's mode.
"""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from rest_framework import serializers as drf
from rest_framework.relations import ManyRelatedField
from rest_framework_json_api import serializers
from rest_framework_json_api.relations import ResourceRelatedField
from rest_framework_json_api.serializers import (
    IncludedResourcesValidationMixin,
    LazySerializersDict,
    ReservedFieldNamesMixin,
)

from api.conventions.formats import timestamp
from api.conventions.input import Payload, parse_document
from api.conventions.query import IncludeTree
from api.includes import Included
from api.registry import (
    ARRAY,
    BOOLEAN,
    DATETIME,
    FLOAT,
    INTEGER,
    OBJECT,
    Attr,
    Rel,
    ResourceSpec,
    all_specs,
    get_spec,
)

Row = dict[str, Any]


# --- fields ----------------------------------------------------------------------------------


class TimestampField(drf.DateTimeField):
    """Commerce Layer's timestamps: UTC, milliseconds and `Z` (`2018-01-01T12:00:00.000Z`)."""

    def to_representation(self, value) -> str:
        return timestamp(value)


class NumberAsTextField(drf.CharField):
    """A numeric column that Commerce Layer shows as a string (`number`)."""


class ComputedField(drf.ReadOnlyField):
    """An attribute computed from other columns of the row (`total_amount_float`, `full_name`)."""

    def __init__(self, *, compute: Callable[[Row], Any], needs: tuple[str, ...], **kwargs) -> None:
        self.compute = compute
        self.needs = needs
        super().__init__(source="*", **kwargs)

    def to_representation(self, row: Row) -> Any:
        return self.compute(row)


class RelationshipField(ResourceRelatedField):
    """A relationship as Commerce Layer shows it: links always, `data` only when it is included.

    Writable ones turn `{type, id}` linkage into the related instance, looked up in the token's mode
    (DJA checks the type, 409 when it is another).
    """

    def __init__(self, *, rel: Rel, **kwargs) -> None:
        self.rel = rel
        super().__init__(**kwargs)

    def get_queryset(self):
        return get_spec(self.rel.type).base_queryset(self.context["document"].mode)

    def get_resource_type_from_included_serializer(self) -> str:
        # The declared type, without DJA's singular/plural guesses over `included_serializers`.
        return self.rel.type


# Field classes whose `to_representation` returns a value of the column's own type unchanged.
_UNCHANGED = (drf.CharField, drf.IntegerField, drf.BooleanField, drf.JSONField, drf.ListField)


def _formatter(serializer_field: drf.Field) -> Callable[[Any], Any] | None:
    """What DRF's `to_representation` does to a non-null column value of this field: None for nothing."""
    if type(serializer_field) in _UNCHANGED:
        return None
    return serializer_field.to_representation


def _attribute_field(attr: Attr) -> drf.Field:
    options: dict[str, Any] = {"help_text": attr.description or None}
    if attr.compute is not None:
        return ComputedField(compute=attr.compute, needs=attr.needs, **options)
    options["read_only"] = not (attr.creatable or attr.updatable)
    if attr.source != attr.name:
        options["source"] = attr.source  # DRF refuses a source equal to the field's name
    if not options["read_only"]:
        options.update(required=attr.required, allow_null=attr.nullable)
    if attr.text_cast:
        return NumberAsTextField(**options)
    if attr.type == INTEGER:
        return drf.IntegerField(**options)
    if attr.type == FLOAT:
        return drf.FloatField(**options)
    if attr.type == BOOLEAN:
        return drf.BooleanField(**options)
    if attr.type == DATETIME:
        return TimestampField(**options)
    if attr.type == OBJECT:
        return drf.JSONField(**options)
    if attr.type == ARRAY:
        return drf.ListField(child=drf.CharField(), **options)
    return drf.CharField(max_length=attr.max_length, allow_blank=True, trim_whitespace=False, **options)


def _relationship_field(spec: ResourceSpec, rel: Rel) -> drf.Field:
    options: dict[str, Any] = {
        "rel": rel,
        "self_link_view_name": f"{spec.type}-relationships",
        "related_link_view_name": f"{spec.type}-related",
        "help_text": rel.description or None,
    }
    if not rel.many and not rel.empty and (rel.creatable or rel.updatable):
        options.update(required=rel.required, allow_null=not rel.required)
    else:
        options["read_only"] = True
    return RelationshipField(many=rel.many, **options)


# --- the compiled plan -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourcePlan:
    """A serializer's fields for one sparse fieldset, as plain tuples the hot loop reads.

    `attributes`: (name, column, formatter, compute); `relationships`: names in declaration order.
    """

    type: str
    attributes: tuple[tuple[str, str | None, Callable | None, Callable | None], ...]
    relationships: tuple[str, ...]
    meta: tuple[str, ...]

    @cached_property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(name for name, *_ in self.attributes)


@dataclass
class DocumentContext:
    """What the serializers and the renderer of one document share (the serializer context's `document`)."""

    base_url: str  # "https://host/api/": resource links are `{base_url}{type}/{id}`
    mode: str
    include: IncludeTree = field(default_factory=dict)
    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    included: Included = field(default_factory=Included)


# --- serializers -----------------------------------------------------------------------------


class ResourceSerializer(serializers.Serializer):
    """Base of the generated serializers (see the module docstring)."""

    spec: ClassVar[ResourceSpec]
    _plans: ClassVar[dict[frozenset[str] | None, ResourcePlan]]
    _columns: ClassVar[dict[frozenset[str], tuple[str, ...]]]

    class Meta:
        meta_fields = ("mode",)

    def __init__(self, *args, **kwargs) -> None:
        # DJA's IncludedResourcesValidationMixin is skipped: `include` was checked against the
        # declarations before the view ran (api.conventions.query), with Commerce Layer's error codes.
        super(IncludedResourcesValidationMixin, self).__init__(*args, **kwargs)

    def get_fields(self) -> dict[str, drf.Field]:
        # DJA reserves `type` because its parser flattens a document into one namespace; ours keeps
        # attributes apart, and Commerce Layer's order_factories have a `type` attribute.
        return super(ReservedFieldNamesMixin, self).get_fields()

    # --- reading -------------------------------------------------------------------------------

    @classmethod
    def plan_for(cls, fieldset: frozenset[str] | None) -> ResourcePlan:
        plan = cls._plans.get(fieldset)
        if plan is None:
            plan = cls._plans[fieldset] = cls._compile(fieldset)
        return plan

    @classmethod
    def _compile(cls, fieldset: frozenset[str] | None) -> ResourcePlan:
        meta = tuple(cls.Meta.meta_fields)
        attributes, relationships = [], []
        for name, serializer_field in cls.prototype_fields().items():
            if name == "id" or name in meta or (fieldset is not None and name not in fieldset):
                continue
            if isinstance(serializer_field, RelationshipField | ManyRelatedField):
                relationships.append(name)
            elif isinstance(serializer_field, ComputedField):
                attributes.append((name, None, None, serializer_field.compute))
            else:
                attributes.append((name, serializer_field.source, _formatter(serializer_field), None))
        return ResourcePlan(cls.spec.type, tuple(attributes), tuple(relationships), meta)

    @classmethod
    def prototype_fields(cls) -> dict[str, drf.Field]:
        """The class's bound fields (DRF deep-copies them for every instance; the plan needs them once)."""
        if "_prototype_fields" not in cls.__dict__:
            cls._prototype_fields = dict(cls(context={}).fields)
        return cls._prototype_fields

    @classmethod
    def columns_for(cls, include: Iterable[str] = ()) -> tuple[str, ...]:
        """The `.values()` columns of a row: every attribute's, plus the ids of the included to-one relationships."""
        key = frozenset(include)
        columns = cls._columns.get(key)
        if columns is None:
            names = ["id", *cls.Meta.meta_fields]
            for serializer_field in cls.prototype_fields().values():
                if isinstance(serializer_field, ComputedField):
                    names.extend(serializer_field.needs)
                elif not isinstance(serializer_field, RelationshipField | ManyRelatedField):
                    names.append(serializer_field.source)
            names.extend(
                rel.column for rel in cls.spec.relationships if rel.name in key and not rel.many and not rel.empty
            )
            columns = cls._columns[key] = tuple(dict.fromkeys(names))
        return columns

    @cached_property
    def document(self) -> DocumentContext:
        return self.context["document"]

    @cached_property
    def plan(self) -> ResourcePlan:
        return self.plan_for(self.document.fields.get(self.spec.type))

    def to_representation(self, row: Row) -> dict[str, Any]:
        """The plan's equivalent of DRF's field loop, plus the linkage of included relationships."""
        plan = self.plan
        resource: dict[str, Any] = {"id": row["id"]}
        for name, column, formatter, compute in plan.attributes:
            if compute is not None:
                resource[name] = compute(row)
            else:
                value = row[column]
                resource[name] = value if formatter is None or value is None else formatter(value)
        linkage = self.document.included.linkage.get((plan.type, row["id"]))
        if linkage:
            for name in plan.relationships:
                if name in linkage:
                    resource[name] = linkage[name]
        for name in plan.meta:
            resource[name] = row[name]
        return resource

    # --- writing -------------------------------------------------------------------------------

    def to_internal_value(self, data: Any) -> Payload:
        """Commerce Layer's create or update document: attributes, relationships and triggers (or a 4xx)."""
        view = self.context.get("view")
        return parse_document(
            data,
            self.spec,
            creating=self.instance is None,
            url_id=view.kwargs.get("pk") if view is not None else None,
            related_field=self.fields.__getitem__,
        )


# --- generation ------------------------------------------------------------------------------

_SERIALIZERS: dict[str, type[ResourceSerializer]] = {}
_lock = threading.Lock()


def _class_name(resource_type: str) -> str:
    return "".join(part.title() for part in resource_type.split("_")) + "Serializer"


def _build(spec: ResourceSpec) -> type[ResourceSerializer]:
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "spec": spec,
        "_plans": {},
        "_columns": {},
        "JSONAPIMeta": type("JSONAPIMeta", (), {"resource_name": spec.type}),
        "id": drf.CharField(read_only=True),
    }
    for attr in spec.attributes:
        if not attr.hidden:
            attrs[attr.name] = _attribute_field(attr)
    for rel in spec.relationships:
        attrs[rel.name] = _relationship_field(spec, rel)
    attrs["mode"] = drf.CharField(read_only=True)
    return serializers.SerializerMetaclass(_class_name(spec.type), (ResourceSerializer,), attrs)


def serializer_for(resource_type: str) -> type[ResourceSerializer]:
    """The generated serializer of a resource type (every registered type is generated together)."""
    serializer_class = _SERIALIZERS.get(resource_type)
    if serializer_class is None:
        with _lock:
            if not _SERIALIZERS:
                built = {spec.type: _build(spec) for spec in all_specs()}
                for serializer_class in built.values():
                    # Every relationship to a served type can be included, and rendered by that type's serializer.
                    serializer_class.included_serializers = LazySerializersDict(
                        serializer_class,
                        {
                            rel.name: built[rel.type]
                            for rel in serializer_class.spec.relationships
                            if not rel.empty and rel.type in built
                        },
                    )
                _SERIALIZERS.update(built)
        serializer_class = _SERIALIZERS[resource_type]
    return serializer_class
