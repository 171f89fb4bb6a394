"""Reading a create or update document against a resource's declaration.

Shape problems are 400s (malformed document, unpermitted or unknown attribute, a value of the wrong
JSON type), a wrong `type` is 409, a body id that is not the URL's is 400 KEY_NOT_INCLUDED_IN_URL,
and what a service would reject anyway but we can see here (missing required attribute, value not
in the enum, related record not found) is 422, one entry per attribute.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.fields import Field
from rest_framework_json_api.exceptions import Conflict

from api.conventions.errors import ApiError, BadDocument, validation_errors
from api.conventions.formats import parse_timestamp
from api.registry import ARRAY, BOOLEAN, DATETIME, FLOAT, INTEGER, OBJECT, STRING, ResourceSpec

MAX_STRING_LENGTH = 10_000
ALLOWED_DATA_MEMBERS = frozenset({"type", "id", "attributes", "relationships", "links", "meta"})


@dataclass
class Payload:
    attributes: dict[str, Any] = field(default_factory=dict)
    relationships: dict[str, models.Model | None] = field(default_factory=dict)
    triggers: dict[str, Any] = field(default_factory=dict)
    raw_values: dict[str, Any] = field(default_factory=dict)


def contains_nul(value: Any) -> bool:
    """PostgreSQL cannot store NUL characters in text or jsonb: such input is refused up front."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


def _type_error(name: str, expected: str) -> BadDocument:
    return BadDocument(
        f"/data/attributes/{name}",
        f"{name} must be {expected}.",
        code="INVALID_FIELD_VALUE",
        title="Invalid field value",
    )


def _convert(name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == STRING:
        if not isinstance(value, str):
            raise _type_error(name, "a string")
        if "\x00" in value or len(value) > MAX_STRING_LENGTH:
            raise _type_error(name, f"a string without NUL characters, at most {MAX_STRING_LENGTH} long")
        return value
    if kind == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(name, "an integer")
        if abs(value) > 2**63 - 1:
            raise _type_error(name, "an integer in the 64-bit range")
        return value
    if kind == FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _type_error(name, "a number")
        return value
    if kind == BOOLEAN:
        if not isinstance(value, bool):
            raise _type_error(name, "true or false")
        return value
    if kind == DATETIME:
        parsed = parse_timestamp(value) if isinstance(value, str) and len(value) <= 64 else None
        if parsed is None:
            raise _type_error(name, "an ISO 8601 datetime, e.g. 2018-01-01T12:00:00.000Z")
        return parsed
    if kind == OBJECT:
        if not isinstance(value, dict) or contains_nul(value):
            raise _type_error(name, "an object (without NUL characters)")
        return value
    if kind == ARRAY:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value) or contains_nul(value):
            raise _type_error(name, "an array of strings (without NUL characters)")
        return value
    raise _type_error(name, kind)


def parse_document(
    document: Any,
    spec: ResourceSpec,
    *,
    creating: bool,
    url_id: str | None = None,
    related_field: Callable[[str], Field],
) -> Payload:
    """Check a create (`creating`) or update document against the declaration, field by field.

    `related_field(name)` is the serializer's field for a relationship: it turns `{type, id}` into
    the related instance in the token's mode.
    """
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise BadDocument("/data", "The document must have a data object.", code="BAD_REQUEST")
    data = document["data"]
    for member in data:
        if member not in ALLOWED_DATA_MEMBERS:
            raise BadDocument(f"/data/{member}", f"{member} is not allowed here.", code="PARAM_NOT_ALLOWED",
                              title="Param not allowed")  # fmt: skip
    resource_type = data.get("type")
    if not isinstance(resource_type, str) or not resource_type:
        raise BadDocument("/data/type", "The resource object must have a type.", code="PARAM_MISSING",
                          title="Missing type")  # fmt: skip
    if resource_type != spec.type:
        raise ApiError(
            f"The type {resource_type} is not the type of this endpoint ({spec.type}).",
            title="Type mismatch",
            code="TYPE_MISMATCH",
            status=409,
            source={"pointer": "/data/type"},
        )
    if creating:
        if "id" in data:
            raise BadDocument("/data/id", "Client-generated ids are not supported.", code="PARAM_NOT_ALLOWED",
                              title="Param not allowed")  # fmt: skip
    elif data.get("id") != url_id:
        raise ApiError(
            f"The URL does not support the key {data.get('id')}",
            title="Key is not included in URL",
            code="KEY_NOT_INCLUDED_IN_URL",
            status=400,
            source={"pointer": "/data/id"},
        )

    payload = Payload()
    attributes = data.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise BadDocument("/data/attributes", "attributes must be an object.", code="BAD_REQUEST")
    problems: dict[str, list[ValidationError]] = {}
    for name, value in attributes.items():
        trigger = spec.trigger_map.get(name)
        if trigger is not None and ("C" if creating else "U") in trigger.flags:
            payload.triggers[name] = _convert(name, trigger.type, value)
            continue
        attr = spec.attribute_map.get(name)
        if attr is None or not (attr.creatable if creating else attr.updatable):
            verb = "created" if creating else "updated"
            detail = f"{name} is not allowed." if attr is None else f"{name} can't be {verb}."
            raise BadDocument(f"/data/attributes/{name}", detail, code="PARAM_NOT_ALLOWED", title="Param not allowed")
        converted = _convert(name, attr.type, value)
        payload.raw_values[name] = value
        if converted is None and (not attr.nullable or attr.required):
            problems[name] = [ValidationError("can't be blank", code="blank")]
        elif attr.enum is not None and converted is not None and converted not in attr.enum:
            problems[name] = [ValidationError("is not included in the list", code="invalid_choice")]
        elif attr.max_length is not None and isinstance(converted, str) and len(converted) > attr.max_length:
            problems[name] = [
                ValidationError("is too long", code="max_length", params={"limit_value": attr.max_length})
            ]
        else:
            payload.attributes[name] = converted

    relationships = data.get("relationships") or {}
    if not isinstance(relationships, dict):
        raise BadDocument("/data/relationships", "relationships must be an object.", code="BAD_REQUEST")
    for name, value in relationships.items():
        rel = spec.relationship_map.get(name)
        if rel is None or not (rel.creatable if creating else rel.updatable):
            raise BadDocument(f"/data/relationships/{name}", f"{name} is not allowed.", code="PARAM_NOT_ALLOWED",
                              title="Param not allowed")  # fmt: skip
        pointer = f"/data/relationships/{name}"
        if not isinstance(value, dict) or "data" not in value:
            raise BadDocument(pointer, f"{name} must be an object with data.", code="BAD_REQUEST")
        linkage = value["data"]
        if linkage is None:
            if rel.required:
                problems[name] = [ValidationError("can't be blank", code="blank")]
            else:
                payload.relationships[name] = None
            continue
        if (
            not isinstance(linkage, dict)
            or not isinstance(linkage.get("id"), str)
            or not isinstance(linkage.get("type"), str)
        ):
            raise BadDocument(f"{pointer}/data", f"{name} data must be {{type, id}}.", code="BAD_REQUEST")
        related_id = linkage["id"]
        if len(related_id) > 64 or "\x00" in related_id:
            # Never a stored id (and PostgreSQL refuses NUL): no lookup, the same answer as an unknown id.
            linkage = {**linkage, "id": ""}
        try:
            payload.relationships[name] = related_field(name).to_internal_value(linkage)
        except Conflict:
            raise ApiError(
                f"{name} must be of type {rel.type}, not {linkage['type']}.",
                title="Type mismatch",
                code="TYPE_MISMATCH",
                status=409,
                source={"pointer": f"{pointer}/data/type"},
            ) from None
        except DRFValidationError:
            problems[name] = [ValidationError("must exist", code="required")]
        else:
            payload.raw_values[name] = related_id

    if creating:
        for attr in spec.attributes:
            if attr.required and attr.name not in attributes and attr.name not in problems:
                problems[attr.name] = [ValidationError("can't be blank", code="blank")]
        for rel in spec.relationships:
            if rel.required and rel.creatable and rel.name not in relationships and rel.name not in problems:
                problems[rel.name] = [ValidationError("can't be blank", code="blank")]
    if problems:
        raise validation_errors(
            ValidationError(problems), relationships=spec.relationship_names, values=payload.raw_values
        )
    return payload
