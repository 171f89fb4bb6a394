"""Resource specifications: one declaration per API type drives serializers, filters, writes and OpenAPI.

A `ResourceSpec` says, for one JSON:API type, which model backs it, which attributes and
relationships it shows (with Commerce Layer's create/update/filter/sort flags), which triggers it
takes and which service adapters write it. Everything else in the API layer reads these
declarations, so a rule (e.g. "starts_at is create-only") is stated once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models

STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"
DATETIME = "datetime"
OBJECT = "object"
ARRAY = "array"
FLOAT = "float"


@dataclass(frozen=True)
class Attr:
    """One attribute. `flags` holds C (create), U (update), F (filter), S (sort); every attribute is readable."""

    name: str
    type: str
    flags: str = ""
    column: str | None = None
    required: bool = False
    enum: tuple[str, ...] | None = None
    nullable: bool = True
    compute: Callable[[dict], Any] | None = None
    needs: tuple[str, ...] = ()
    max_length: int | None = None
    text_cast: bool = False  # a numeric column that the API shows as a string (`number`)
    hidden: bool = False  # filterable and sortable, but not an attribute of the document (`id`)
    description: str = ""

    @property
    def source(self) -> str:
        return self.column or self.name

    @property
    def creatable(self) -> bool:
        return "C" in self.flags

    @property
    def updatable(self) -> bool:
        return "U" in self.flags

    @property
    def filterable(self) -> bool:
        return "F" in self.flags and self.compute is None

    @property
    def sortable(self) -> bool:
        return "S" in self.flags and self.compute is None


@dataclass(frozen=True)
class Rel:
    """One relationship to another type.

    To-one: `column` is the values() path of the related id (may cross a join, e.g. through the market).
    To-many: `reverse` is the path on the related model that holds our id, plus `reverse_filter`.
    `empty`: a relationship Commerce Layer has but this back-office holds nothing for (answers null or []).
    """

    name: str
    type: str
    many: bool = False
    column: str | None = None
    reverse: str | None = None
    reverse_filter: dict[str, Any] = field(default_factory=dict)
    flags: str = ""
    required: bool = False
    empty: bool = False
    filter_path: str | None = None
    description: str = ""

    @property
    def creatable(self) -> bool:
        return "C" in self.flags

    @property
    def updatable(self) -> bool:
        return "U" in self.flags

    @property
    def filterable(self) -> bool:
        return "F" in self.flags and not self.empty


@dataclass(frozen=True)
class Trigger:
    """An action attribute (`_activate`), sent with `true` (or a string for `_customer_payment_source_id`)."""

    name: str
    type: str = BOOLEAN
    flags: str = "U"
    description: str = ""


@dataclass(frozen=True)
class WriteContext:
    """What a service adapter knows about the caller: the token's mode and client (`api.auth.authentication`)."""

    mode: str
    client: Any


Values = dict[str, Any]
Writer = Callable[..., Any]


@dataclass
class ResourceSpec:
    type: str
    model: type[models.Model]
    attributes: tuple[Attr, ...]
    relationships: tuple[Rel, ...] = ()
    actions: frozenset[str] = frozenset({"list", "retrieve"})
    triggers: tuple[Trigger, ...] = ()
    create: Writer | None = None  # (context, attributes, relationships) -> instance
    update: Writer | None = None  # (context, instance, attributes, relationships, triggers) -> instance
    delete: Writer | None = None  # (context, instance) -> None
    default_sort: tuple[str, ...] = ("-created_at",)
    description: str = ""
    base_filter: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.attribute_map = {attr.name: attr for attr in self.attributes}
        self.relationship_map = {rel.name: rel for rel in self.relationships}
        self.trigger_map = {trigger.name: trigger for trigger in self.triggers}
        self.relationship_names = frozenset(self.relationship_map)
        self.field_names = frozenset(a.name for a in self.attributes if not a.hidden) | self.relationship_names

    def can(self, action: str) -> bool:
        return action in self.actions

    def base_queryset(self, mode: str) -> models.QuerySet:
        return self.model._default_manager.filter(mode=mode, **self.base_filter)


REGISTRY: dict[str, ResourceSpec] = {}
_BY_MODEL: dict[type[models.Model], ResourceSpec] = {}


def register(spec: ResourceSpec, *, primary: bool = True) -> ResourceSpec:
    REGISTRY[spec.type] = spec
    if primary:
        _BY_MODEL[spec.model] = spec
    return spec


def get_spec(resource_type: str) -> ResourceSpec | None:
    _load()
    return REGISTRY.get(resource_type)


def spec_for_model(model: type[models.Model]) -> ResourceSpec:
    _load()
    return _BY_MODEL[model]


def all_specs() -> list[ResourceSpec]:
    _load()
    return list(REGISTRY.values())


def _load() -> None:
    if not REGISTRY:
        import api.resources  # noqa: F401 - registers every resource
