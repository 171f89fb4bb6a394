"""Ransack-style filters: `filter[q][<attribute>[_or_<attribute>...]_<predicate>]=value`.

Attributes are resolved against the resource's whitelist only: its filterable attributes, and the
filterable attributes of its filterable relationships (`source_order_number_eq`, `market_id_in`,
`order_subscription_id_eq`). Anything else is a 400 naming the parameter, so a filter never reaches
a column that is not declared filterable. To-many relationships filter through a subquery (no
duplicate rows, no DISTINCT).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import CharField, F, Q
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

from api.conventions.errors import BadParameter
from api.conventions.formats import parse_timestamp
from api.registry import BOOLEAN, DATETIME, FLOAT, INTEGER, OBJECT, STRING, ResourceSpec, get_spec

MAX_RELATIONSHIP_DEPTH = 2


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


def _text(lookup, transform=lambda value: value):
    return lambda target, value: Q(lookup(_expr(target, as_text=True), transform(value)))


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


# --- values ---------------------------------------------------------------------------------


class _BadValue(ValueError):
    pass


def _flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "t", "yes"):
        return True
    if lowered in ("false", "0", "f", "no"):
        return False
    raise _BadValue("must be true or false")


def _convert(raw: str, target: Target, predicate_name: str) -> Any:
    kind = target.type
    if predicate_name == "jcont":
        import json

        try:
            value = json.loads(raw)
        except ValueError:
            raise _BadValue("must be a JSON object") from None
        if not isinstance(value, dict) or "\\u0000" in raw or "\x00" in raw:
            raise _BadValue("must be a JSON object without NUL characters")
        return value
    if kind == INTEGER or (target.text_cast and predicate_name.removesuffix("_any").removesuffix("_all")
                           not in TEXT_PREDICATES):  # fmt: skip
        try:
            number = int(raw)
        except ValueError:
            raise _BadValue("must be an integer") from None
        if abs(number) > 2**63 - 1:
            raise _BadValue("is out of range")
        return number
    if kind == FLOAT:
        try:
            return float(raw)
        except ValueError:
            raise _BadValue("must be a number") from None
    if kind == BOOLEAN:
        return _flag(raw)
    if kind == DATETIME:
        parsed = parse_timestamp(raw)
        if parsed is None:
            raise _BadValue("must be an ISO 8601 datetime")
        return parsed
    if "\x00" in raw:
        raise _BadValue("must not contain NUL characters")
    return raw


# --- resolution -----------------------------------------------------------------------------


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


def _split_key(spec: ResourceSpec, key: str) -> tuple[list[Target], str, Predicate] | None:
    for predicate_name in PREDICATE_NAMES:
        if not key.endswith("_" + predicate_name):
            continue
        attribute_part = key[: -len(predicate_name) - 1]
        if not attribute_part:
            continue
        for separator in (None, "_or_", "_and_"):
            names = [attribute_part] if separator is None else attribute_part.split(separator)
            targets = [_resolve(spec, name) for name in names]
            if all(targets):
                joiner = "and" if separator == "_and_" else "or"
                return targets, f"{predicate_name}|{joiner}", PREDICATES[predicate_name]
    return None


def build_filter(spec: ResourceSpec, filters: list[tuple[str, str, str]]) -> Q:
    """AND of every `(parameter, key, raw value)`; raises BadParameter (400) for anything not allowed."""
    condition = Q()
    for parameter, key, raw in filters:
        split = _split_key(spec, key)
        if split is None:
            raise BadParameter(
                parameter,
                f"{key} is not a filter of {spec.type}: use a filterable attribute and a known predicate.",
                code="FILTER_NOT_ALLOWED",
                title="Filter not allowed",
            )
        targets, name_and_joiner, predicate = split
        predicate_name, joiner = name_and_joiner.split("|")
        key_condition = Q()
        for target in targets:
            if target.type not in predicate.types:
                raise BadParameter(
                    parameter,
                    f"The {predicate_name} predicate does not apply to {target.type} attributes.",
                    code="FILTER_NOT_ALLOWED",
                    title="Filter not allowed",
                )
            try:
                if predicate.flag:
                    flag = _flag(raw)
                    single = predicate.build(target, flag)
                elif predicate.multi:
                    values = [_convert(part, target, predicate_name) for part in raw.split(",") if part != ""]
                    if not values:
                        raise _BadValue("needs at least one value")
                    if predicate.multi == "list":
                        single = predicate.build(target, values)
                    else:
                        single = Q()
                        for value in values:
                            part = predicate.build(target, value)
                            single = (single | part) if predicate.multi == "any" and single else (single & part)
                else:
                    single = predicate.build(target, _convert(raw, target, predicate_name))
            except _BadValue as exc:
                raise BadParameter(
                    parameter, f"{raw!r} {exc}.", code="INVALID_FILTER_VALUE", title="Invalid filter value"
                ) from None
            if target.wrap is not None:
                single = target.wrap(single)
            key_condition = (key_condition | single) if joiner == "or" and key_condition else key_condition & single
        condition &= key_condition
    return condition
