"""Ransack-style filters on django-filter: `filter[q][<attribute>[_or_<attribute>...]_<predicate>]=value`.

Each resource type has a generated `FilterSet` (`filterset_for`). Its filters are the whitelist: one
`AttributeFilter` per filterable attribute and predicate, where the attribute is the resource's own or
that of a filterable relationship, two levels at most (`source_order_number_eq`, `market_id_in`,
`order_subscription_id_eq`), and an `AttributesFilter` joining several of them for `_or_` / `_and_`
keys. Each filter's form field checks and converts the value for its attribute's type, so a wrong
value is a form error, which the backend turns into a 400 naming the parameter. A key that is not in
the whitelist is a 400 too, so a filter never reaches a column that is not declared filterable.

The whitelist has tens of thousands of keys (every attribute path times every predicate), so
`base_filters` is a catalogue that builds a filter the first time a request names its key, and a
filter set copies only the filters its request uses (django-filter copies every filter of the class).
To-many relationships filter through a subquery (no duplicate rows, no DISTINCT).
"""

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

import django_filters
from django import forms
from django.db import connection
from django.db.models import CharField, F, Q, QuerySet
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IEndsWith,
    In,
    IRegex,
    IsNull,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
)
from django.http import QueryDict
from rest_framework_json_api.django_filters import DjangoFilterBackend

from api.conventions.errors import BadParameter
from api.conventions.formats import parse_timestamp
from api.registry import BOOLEAN, DATETIME, FLOAT, INTEGER, OBJECT, STRING, ResourceSpec, get_spec

MAX_RELATIONSHIP_DEPTH = 2
MAX_INTEGER = 2**63 - 1


@dataclass(frozen=True)
class Target:
    """A resolved filter attribute: the ORM path, its API type, and the subquery wrapping for to-many hops."""

    path: str
    type: str
    text_cast: bool
    wrap: Callable[[Q], Q] | None = None


# --- predicates ------------------------------------------------------------------------------

SCALAR_TYPES = (STRING, INTEGER, DATETIME, FLOAT, BOOLEAN)
ORDERED_TYPES = (STRING, INTEGER, DATETIME, FLOAT)


def _like_to_regex(pattern: str) -> str:
    """SQL LIKE (`%`, `_`) as an anchored regular expression, so `matches` works on every database."""
    out = []
    for char in pattern:
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append("\\" + char if not char.isalnum() and char != " " else char)
    return "^" + "".join(out) + "$"


def _expr(target: Target, *, as_text: bool = False):
    if as_text and target.text_cast:
        return Cast(F(target.path), CharField())
    return F(target.path)


def _cmp(lookup):
    return lambda target, value: Q(lookup(_expr(target), value))


def _text(lookup):
    return lambda target, value: Q(lookup(_expr(target, as_text=True), value))


def _negate_not_null(builder):
    # SQL's NOT excludes NULL rows, as ransack's `not_*` predicates do; say it explicitly for clarity.
    return lambda target, value: ~builder(target, value) & Q(IsNull(F(target.path), False))


def _or_null(builder):
    return lambda target, value: builder(target, value) | Q(IsNull(F(target.path), True))


@dataclass(frozen=True)
class Predicate:
    build: Callable[[Target, Any], Q]
    types: tuple[str, ...]
    multi: str = ""  # "" single value, "list" one condition on a list, "any"/"all" one condition per value
    flag: bool = False  # takes true/false (null, present, blank, true, false)


def _eq(target, value):
    return Q(Exact(_expr(target), value))


def _in(target, values):
    return Q(In(_expr(target), values))


def _null(target, value):
    return Q(IsNull(F(target.path), value))


def _blank(target, value):
    condition = Q(IsNull(F(target.path), True))
    if target.type == STRING and not target.text_cast:
        condition |= Q(Exact(F(target.path), ""))
    return condition if value else ~condition


def _present(target, value):
    return _blank(target, not value)


def _true(target, value):
    return Q(Exact(F(target.path), value))


def _false(target, value):
    return Q(Exact(F(target.path), not value))


def _matches(target, value):
    return Q(IRegex(_expr(target, as_text=True), _like_to_regex(value)))


def _jcont(target, value):
    if connection.vendor == "postgresql":
        return Q(**{f"{target.path}__contains": value})
    return _json_paths(target.path, value)


def _json_paths(path: str, value: Any) -> Q:
    """`jcont` where JSON containment is not available (SQLite): every key path must hold the same value."""
    if not isinstance(value, dict) or not value:
        return Q(**{path: value})
    condition = Q()
    for key, inner in value.items():
        condition &= _json_paths(f"{path}__{key}", inner)
    return condition


BASE_PREDICATES: dict[str, Predicate] = {
    "eq": Predicate(_eq, SCALAR_TYPES),
    "not_eq": Predicate(_negate_not_null(_eq), SCALAR_TYPES),
    "lt": Predicate(_cmp(LessThan), ORDERED_TYPES),
    "lteq": Predicate(_cmp(LessThanOrEqual), ORDERED_TYPES),
    "gt": Predicate(_cmp(GreaterThan), ORDERED_TYPES),
    "gteq": Predicate(_cmp(GreaterThanOrEqual), ORDERED_TYPES),
    "matches": Predicate(_matches, (STRING,)),
    "does_not_match": Predicate(_negate_not_null(_matches), (STRING,)),
    "start": Predicate(_text(IStartsWith), (STRING,)),
    "not_start": Predicate(_negate_not_null(_text(IStartsWith)), (STRING,)),
    "end": Predicate(_text(IEndsWith), (STRING,)),
    "not_end": Predicate(_negate_not_null(_text(IEndsWith)), (STRING,)),
    "cont": Predicate(_text(IContains), (STRING,)),
    "i_cont": Predicate(_text(IContains), (STRING,)),
    "not_cont": Predicate(_negate_not_null(_text(IContains)), (STRING,)),
    "not_i_cont": Predicate(_negate_not_null(_text(IContains)), (STRING,)),
}
PREDICATES: dict[str, Predicate] = dict(BASE_PREDICATES)
# The `_any` / `_all` forms: one condition per comma-separated value, joined with OR / AND.
for _name, _predicate in BASE_PREDICATES.items():
    if _name in ("i_cont", "not_i_cont"):
        continue
    PREDICATES[f"{_name}_any"] = Predicate(_predicate.build, _predicate.types, multi="any")
    PREDICATES[f"{_name}_all"] = Predicate(_predicate.build, _predicate.types, multi="all")
PREDICATES.update(
    {
        "eq_or_null": Predicate(_or_null(_eq), SCALAR_TYPES),
        "not_eq_or_null": Predicate(lambda target, value: ~_eq(target, value) | _null(target, True), SCALAR_TYPES),
        "in": Predicate(_in, SCALAR_TYPES, multi="list"),
        "in_or_null": Predicate(_or_null(_in), SCALAR_TYPES, multi="list"),
        "not_in": Predicate(_negate_not_null(_in), SCALAR_TYPES, multi="list"),
        "not_in_or_null": Predicate(
            lambda target, values: ~_in(target, values) | _null(target, True), SCALAR_TYPES, multi="list"
        ),  # fmt: skip
        "null": Predicate(_null, SCALAR_TYPES + (OBJECT,), flag=True),
        "not_null": Predicate(lambda target, value: _null(target, not value), SCALAR_TYPES + (OBJECT,), flag=True),
        "present": Predicate(_present, SCALAR_TYPES, flag=True),
        "blank": Predicate(_blank, SCALAR_TYPES, flag=True),
        "true": Predicate(_true, (BOOLEAN,), flag=True),
        "false": Predicate(_false, (BOOLEAN,), flag=True),
        "jcont": Predicate(_jcont, (OBJECT,)),
    }
)
# Longest first, so `not_eq_or_null` wins over `eq_or_null`, `null` and `eq`.
PREDICATE_NAMES = sorted(PREDICATES, key=len, reverse=True)

# Predicates that compare text: on a numeric column shown as a string they compare its digits.
TEXT_PREDICATES = frozenset(
    {"matches", "does_not_match", "start", "not_start", "end", "not_end", "cont", "i_cont", "not_cont", "not_i_cont"}
)


# --- form fields: the value of a filter, checked for its attribute's type -------------------------


class FlagField(forms.Field):
    """`true`/`false` (and 1/0, t/f, yes/no); anything else is an error, not "no filter"."""

    default_error_messages = {"invalid": "must be true or false"}

    def to_python(self, value: str) -> bool:
        lowered = value.strip().lower()
        if lowered in ("true", "1", "t", "yes"):
            return True
        if lowered in ("false", "0", "f", "no"):
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class TimestampField(forms.Field):
    """An ISO 8601 datetime in UTC (a date alone is its midnight), as Commerce Layer takes them."""

    default_error_messages = {"invalid": "must be an ISO 8601 datetime"}

    def to_python(self, value: str):
        parsed = parse_timestamp(value)
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class JSONObjectField(forms.Field):
    """`jcont`'s value: a JSON object (PostgreSQL cannot hold NUL characters, so they are refused)."""

    default_error_messages = {"invalid": "must be a JSON object without NUL characters"}

    def to_python(self, value: str) -> dict:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or "\\u0000" in value or "\x00" in value:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


def _value_field(target: Target, predicate_name: str) -> forms.Field:
    """The form field for one value of `target` under this predicate."""
    if predicate_name == "jcont":
        return JSONObjectField()
    base_name = predicate_name.removesuffix("_any").removesuffix("_all")
    if target.type == INTEGER or (target.text_cast and base_name not in TEXT_PREDICATES):
        return forms.IntegerField(min_value=-MAX_INTEGER, max_value=MAX_INTEGER)
    if target.type == FLOAT:
        return forms.FloatField()
    if target.type == BOOLEAN:
        return FlagField()
    if target.type == DATETIME:
        return TimestampField()
    # Strings are taken as sent (ransack does not strip them); Django's CharField refuses NUL characters.
    return forms.CharField(strip=False, required=False)


class PredicateValueField(forms.Field):
    """The raw query value of one attribute filter: a flag, one value, or comma-separated values."""

    default_error_messages = {"empty_list": "needs at least one value"}

    def __init__(self, *, value_field: forms.Field, multi: bool, flag: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.value_field = FlagField() if flag else value_field
        self.multi = multi and not flag

    def to_python(self, value: str | None) -> Any:
        if value is None:
            return None
        if not self.multi:
            return self.value_field.clean(value)
        parts = [part for part in value.split(",") if part != ""]
        if not parts:
            raise forms.ValidationError(self.error_messages["empty_list"], code="empty_list")
        return [self.value_field.clean(part) for part in parts]


class AttributesValueField(forms.Field):
    """The value of an `_or_` / `_and_` key: the same raw value, checked for each attribute in turn."""

    def __init__(self, *, fields: tuple[forms.Field, ...], **kwargs) -> None:
        super().__init__(**kwargs)
        self.fields = fields

    def to_python(self, value: str | None) -> tuple | None:
        if value is None:
            return None
        return tuple(field.clean(value) for field in self.fields)


# --- filters ---------------------------------------------------------------------------------


class AttributeFilter(django_filters.Filter):
    """One whitelisted attribute (the resource's or a related one's) with one predicate: `status_eq`."""

    field_class = PredicateValueField

    def __init__(self, key: str, target: Target, predicate_name: str) -> None:
        self.target = target
        self.predicate = PREDICATES[predicate_name]
        super().__init__(
            field_name=target.path,
            lookup_expr=predicate_name,
            label=key,  # given, so django-filter does not look verbose names up through the path
            value_field=_value_field(target, predicate_name),
            multi=bool(self.predicate.multi),
            flag=self.predicate.flag,
        )

    def condition(self, value: Any) -> Q:
        predicate, target = self.predicate, self.target
        if predicate.multi in ("any", "all"):
            condition = Q()
            for single in value:
                part = predicate.build(target, single)
                condition = (condition | part) if predicate.multi == "any" and condition else (condition & part)
        else:
            condition = predicate.build(target, value)
        return target.wrap(condition) if target.wrap is not None else condition

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        # Unlike django-filter's default, an empty string is a value (`reference_eq=` matches ""):
        # the filter is in the set only because the request named it.
        if value is None:
            return qs
        return qs.filter(self.condition(value))


class AttributesFilter(django_filters.Filter):
    """Several attribute filters under one key: `number_or_customer_email_cont` (OR), `..._and_...` (AND)."""

    field_class = AttributesValueField

    def __init__(self, key: str, parts: tuple[AttributeFilter, ...], joiner: str) -> None:
        self.parts = parts
        self.joiner = joiner
        super().__init__(field_name=key, label=key, fields=tuple(part.field for part in parts))

    def filter(self, qs: QuerySet, value: tuple | None) -> QuerySet:
        if value is None:
            return qs
        condition = Q()
        for part, part_value in zip(self.parts, value, strict=True):
            single = part.condition(part_value)
            condition = (condition | single) if self.joiner == "or" and condition else (condition & single)
        return qs.filter(condition)


# --- the whitelist ---------------------------------------------------------------------------


def _resolve(spec: ResourceSpec, name: str, depth: int = 0) -> Target | None:
    attr = spec.attribute_map.get(name)
    if attr is not None and attr.filterable:
        return Target(attr.source, attr.type, attr.text_cast)
    if depth >= MAX_RELATIONSHIP_DEPTH:
        return None
    for rel in spec.relationships:
        if not rel.filterable or not name.startswith(rel.name + "_"):
            continue
        target_spec = get_spec(rel.type)
        if target_spec is None:
            continue
        inner = _resolve(target_spec, name[len(rel.name) + 1 :], depth + 1)
        if inner is None:
            continue
        if not rel.many:
            path = rel.filter_path or rel.name
            wrap = inner.wrap
            if wrap is None:
                return Target(f"{path}__{inner.path}", inner.type, inner.text_cast)
            return Target(inner.path, inner.type, inner.text_cast, _prefix_wrap(path, wrap))
        return Target(inner.path, inner.type, inner.text_cast, _many_wrap(target_spec, rel, inner.wrap))
    return None


def _prefix_wrap(path: str, wrap: Callable[[Q], Q]) -> Callable[[Q], Q]:
    def wrapped(condition: Q) -> Q:
        inner = wrap(condition)  # a pk__in subquery on the related model
        ((key, subquery),) = inner.children
        return Q(**{f"{path}__{key}": subquery})

    return wrapped


def _many_wrap(target_spec: ResourceSpec, rel, inner_wrap) -> Callable[[Q], Q]:
    def wrapped(condition: Q) -> Q:
        if inner_wrap is not None:
            condition = inner_wrap(condition)
        related = target_spec.model._default_manager.filter(condition, **rel.reverse_filter)
        return Q(pk__in=related.values(rel.reverse))

    return wrapped


def _attribute_names(spec: ResourceSpec, depth: int = 0) -> Iterator[tuple[str, str]]:
    """Every filterable attribute path of `spec` with its type: `status`, `market_code`, `source_order_number`."""
    for attr in spec.attributes:
        if attr.filterable:
            yield attr.name, attr.type
    if depth >= MAX_RELATIONSHIP_DEPTH:
        return
    for rel in spec.relationships:
        target_spec = get_spec(rel.type) if rel.filterable else None
        if target_spec is not None:
            for name, kind in _attribute_names(target_spec, depth + 1):
                yield f"{rel.name}_{name}", kind


class FilterCatalogue(Mapping):
    """A resource's filters by key, built from the declarations the first time a request names one.

    Iterating yields the single-attribute keys (the `_or_` / `_and_` combinations are not enumerable).
    """

    MAX_CACHED = 4096

    def __init__(self, spec: ResourceSpec) -> None:
        self.spec = spec
        self._built: dict[str, django_filters.Filter] = {}

    def __getitem__(self, key: str) -> django_filters.Filter:
        built = self._built.get(key)
        if built is None:
            built = self._build(key)
            if built is None:
                raise KeyError(key)
            if len(self._built) < self.MAX_CACHED:
                self._built[key] = built
        return built

    def __iter__(self) -> Iterator[str]:
        for (name, kind), predicate_name in product(_attribute_names(self.spec), PREDICATES):
            if kind in PREDICATES[predicate_name].types:
                yield f"{name}_{predicate_name}"

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def _build(self, key: str) -> django_filters.Filter | None:
        for predicate_name in PREDICATE_NAMES:
            attribute_part = key.removesuffix("_" + predicate_name)
            if attribute_part == key or not attribute_part:
                continue
            for separator in (None, "_or_", "_and_"):
                names = [attribute_part] if separator is None else attribute_part.split(separator)
                targets = [_resolve(self.spec, name) for name in names]
                if not all(targets):
                    continue
                if any(target.type not in PREDICATES[predicate_name].types for target in targets):
                    return None
                parts = tuple(
                    AttributeFilter(f"{name}_{predicate_name}", target, predicate_name)
                    for name, target in zip(names, targets, strict=True)
                )
                if separator is None:
                    return parts[0]
                return AttributesFilter(key, parts, "and" if separator == "_and_" else "or")
        return None

    def refusal(self, key: str) -> str:
        """Why `key` is not a filter of this resource, for the error's detail."""
        for predicate_name in PREDICATE_NAMES:
            attribute_part = key.removesuffix("_" + predicate_name)
            if attribute_part != key and attribute_part and _resolve(self.spec, attribute_part):
                kind = _resolve(self.spec, attribute_part).type
                return f"The {predicate_name} predicate does not apply to {kind} attributes."
        return f"{key} is not a filter of {self.spec.type}: use a filterable attribute and a known predicate."


class RansackFilterSet(django_filters.FilterSet):
    """django-filter's FilterSet over a resource's filter catalogue (see the module docstring)."""

    spec: ResourceSpec | None = None

    @classmethod
    def get_filters(cls) -> Mapping:
        return FilterCatalogue(cls.spec) if cls.spec is not None else {}

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None) -> None:
        # django-filter deep-copies `base_filters` for each instance; only the requested ones are
        # copied (the backend has checked that each key is in the catalogue).
        catalogue = type(self).base_filters
        self.base_filters = {key: catalogue[key] for key in data or ()}
        super().__init__(data, queryset, request=request, prefix=prefix)


_FILTERSETS: dict[str, type[RansackFilterSet]] = {}


def filterset_for(spec: ResourceSpec) -> type[RansackFilterSet]:
    """The generated FilterSet of a resource type."""
    filterset = _FILTERSETS.get(spec.type)
    if filterset is None:
        name = "".join(part.title() for part in spec.type.split("_")) + "FilterSet"
        meta = type("Meta", (), {"model": spec.model, "fields": []})
        filterset = _FILTERSETS[spec.type] = type(name, (RansackFilterSet,), {"spec": spec, "Meta": meta})
    return filterset


# --- the backend -----------------------------------------------------------------------------


class RansackFilterBackend(DjangoFilterBackend):
    """DJA's django-filter backend for Commerce Layer's `filter[q][...]` parameters.

    The view names the resource whose list is filtered (`view.listed_spec`: a related list filters
    the related type). Errors are Commerce Layer's: 400 with `source.parameter`.
    """

    filter_regex = re.compile(r"^filter\[q\]\[(?P<assoc>[A-Za-z0-9_]+)\]$")

    def get_filterset_class(self, view, queryset=None) -> type[RansackFilterSet]:
        return filterset_for(view.listed_spec)

    def get_filterset_kwargs(self, request, queryset, view) -> dict[str, Any]:
        data = QueryDict(mutable=True)
        self.parameters: dict[str, str] = {}
        for parameter in request.query_params:
            match = self.filter_regex.match(parameter)
            if match:
                key = match.group("assoc")
                data[key] = request.query_params[parameter]  # the last value, as for every parameter
                self.parameters[key] = parameter
        return {"data": data, "queryset": queryset, "request": request, "filter_keys": list(self.parameters)}

    def _validate_filter(self, keys, filterset_class) -> None:
        catalogue = filterset_class.base_filters
        for key in keys:
            if key not in catalogue:
                raise BadParameter(self.parameters[key], catalogue.refusal(key), code="FILTER_NOT_ALLOWED",
                                   title="Filter not allowed")  # fmt: skip

    def get_filterset(self, request, queryset, view) -> RansackFilterSet | None:
        kwargs = self.get_filterset_kwargs(request, queryset, view)
        keys = kwargs.pop("filter_keys")
        if not keys:
            return None  # no filter parameter, no filter set: an unfiltered list pays nothing here
        filterset_class = self.get_filterset_class(view, queryset)
        self._validate_filter(keys, filterset_class)
        return filterset_class(**kwargs)

    def filter_queryset(self, request, queryset, view) -> QuerySet:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            key, errors = next(iter(filterset.errors.items()))
            message = str(errors[0]).rstrip(".")
            raise BadParameter(self.parameters[key], f"{filterset.data[key]!r}: {message}.",
                               code="INVALID_FILTER_VALUE", title="Invalid filter value")  # fmt: skip
        return filterset.qs
