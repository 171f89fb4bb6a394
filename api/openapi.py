"""The OpenAPI 3.0 document (`/api/openapi.json`) and the human-readable reference (`/api/reference`).

Both are generated from the same resource declarations that generate the serializers, filter sets
and routes, so the document cannot drift from what the API does. (drf-spectacular would read the
serializer fields, but not what only the declarations state: the create/update/filter/sort flags,
triggers, the ransack filter language and the related routes; see decision A1.)
"""

from functools import lru_cache
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from api.conventions.filters import PREDICATES
from api.conventions.pagination import CommerceLayerPagination
from api.registry import ARRAY, BOOLEAN, DATETIME, FLOAT, INTEGER, OBJECT, Attr, ResourceSpec, all_specs, get_spec
from api.resources.common import ID

MAX_PAGE_SIZE = CommerceLayerPagination.max_page_size

MEDIA_TYPE = "application/vnd.api+json"
ERROR_STATUSES = ("400", "401", "404", "406", "409", "415", "422", "423", "429")
ERROR_TITLES = {
    "400": "Bad request: malformed document, unknown parameter, filter, sort, include or field",
    "401": "Missing, invalid, expired or revoked access token",
    "404": "No such resource in the token's mode",
    "406": "The Accept header does not allow application/vnd.api+json",
    "409": "The document's type is not this endpoint's",
    "415": "The Content-Type is not application/vnd.api+json",
    "422": "Validation failed, one error per attribute",
    "423": "Other resources still refer to this one",
    "429": "Too many requests",
}


def _value_schema(kind: str) -> dict[str, Any]:
    if kind == INTEGER:
        return {"type": "integer"}
    if kind == FLOAT:
        return {"type": "number"}
    if kind == BOOLEAN:
        return {"type": "boolean"}
    if kind == DATETIME:
        return {"type": "string", "format": "date-time"}
    if kind == OBJECT:
        return {"type": "object", "additionalProperties": True}
    if kind == ARRAY:
        return {"type": "array", "items": {"type": "string"}}
    return {"type": "string"}


def _read_schema(attr: Attr) -> dict[str, Any]:
    schema = _value_schema(attr.type)
    if attr.enum:
        schema["enum"] = list(attr.enum)
    else:
        schema["nullable"] = True
    if attr.description:
        schema["description"] = attr.description
    return schema


def _write_schema(attr: Attr) -> dict[str, Any]:
    schema = _value_schema(attr.type)
    if attr.type == "string" and attr.max_length:
        schema["maxLength"] = attr.max_length
    if attr.enum:
        schema["enum"] = list(attr.enum)
    elif attr.nullable and not attr.required:
        schema["nullable"] = True
    if attr.description:
        schema["description"] = attr.description
    return schema


def _links(*names: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: {"type": "string", "format": "uri"} for name in names},
        "required": list(names),
    }


def _identifier(resource_type: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": [resource_type]}, "id": {"type": "string"}},
        "required": ["type", "id"],
    }


def _resource_schema(spec: ResourceSpec) -> dict[str, Any]:
    relationships = {}
    for rel in spec.relationships:
        data = {"type": "array", "items": _identifier(rel.type)} if rel.many else {**_identifier(rel.type),
                                                                                     "nullable": True}  # fmt: skip
        relationships[rel.name] = {
            "type": "object",
            "properties": {"links": _links("self", "related"), "data": data},
            "required": ["links"],
        }
    return {
        "type": "object",
        "description": spec.description,
        "properties": {
            "id": {"type": "string", "example": "XAyRWNUzyN"},
            "type": {"type": "string", "enum": [spec.type]},
            "links": _links("self"),
            "attributes": {
                "type": "object",
                "properties": {attr.name: _read_schema(attr) for attr in spec.attributes if not attr.hidden},
            },
            "relationships": {"type": "object", "properties": relationships},
            "meta": {
                "type": "object",
                "properties": {"mode": {"type": "string", "enum": ["test", "live"]}},
                "required": ["mode"],
            },
        },
        "required": ["id", "type", "links", "attributes", "relationships", "meta"],
    }


def _write_document(spec: ResourceSpec, *, creating: bool) -> dict[str, Any]:
    allowed = [attr for attr in spec.attributes if (attr.creatable if creating else attr.updatable)]
    attributes = {attr.name: _write_schema(attr) for attr in allowed}
    for trigger in spec.triggers:
        if ("C" if creating else "U") in trigger.flags:
            attributes[trigger.name] = {**_value_schema(trigger.type), "description": trigger.description}
    relationships = {}
    required_relationships = []
    for rel in spec.relationships:
        if rel.many or not (rel.creatable if creating else rel.updatable):
            continue
        data = _identifier(rel.type) if rel.required else {**_identifier(rel.type), "nullable": True}
        relationships[rel.name] = {"type": "object", "properties": {"data": data}, "required": ["data"]}
        if creating and rel.required:
            required_relationships.append(rel.name)
    data: dict[str, Any] = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [spec.type]},
            "attributes": {"type": "object", "properties": attributes, "additionalProperties": False},
            "relationships": {"type": "object", "properties": relationships, "additionalProperties": False},
        },
        "required": ["type"],
        "additionalProperties": False,
    }
    required_attributes = [attr.name for attr in allowed if creating and attr.required]
    if required_attributes:
        data["properties"]["attributes"]["required"] = required_attributes
        data["required"].append("attributes")
    if required_relationships:
        data["properties"]["relationships"]["required"] = required_relationships
        data["required"].append("relationships")
    if not creating:
        data["properties"]["id"] = {"type": "string"}
        data["required"].append("id")
    return {"type": "object", "properties": {"data": data}, "required": ["data"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {MEDIA_TYPE: {"schema": schema}}}


def _responses(success: dict[str, Any]) -> dict[str, Any]:
    responses = dict(success)
    for status in ERROR_STATUSES:
        responses[status] = {"description": ERROR_TITLES[status], **_json(_ref("errors"))}
    return responses


def _single(spec: ResourceSpec, description: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "data": _ref(spec.type),
            "included": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["data"],
    }
    return {"description": description, **_json(schema)}


def _list(spec: ResourceSpec) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": _ref(spec.type)},
            "included": {"type": "array", "items": {"type": "object"}},
            "meta": {
                "type": "object",
                "properties": {"record_count": {"type": "integer"}, "page_count": {"type": "integer"}},
                "required": ["record_count", "page_count"],
            },
            "links": {
                "type": "object",
                "properties": {name: {"type": "string"} for name in ("first", "prev", "next", "last")},
                "required": ["first", "last"],
            },
        },
        "required": ["data", "meta", "links"],
    }
    return {"description": f"A page of {spec.type}", **_json(schema)}


def _query_parameter(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def _read_parameters(spec: ResourceSpec) -> list[dict[str, Any]]:
    return [
        _query_parameter("include", {"type": "string"}, "Comma-separated relationship paths, dots for nesting."),
        _query_parameter(f"fields[{spec.type}]", {"type": "string"}, "Sparse fieldset, comma-separated."),
    ]


def _list_parameters(spec: ResourceSpec) -> list[dict[str, Any]]:
    parameters = _read_parameters(spec)
    sortable = [attr.name for attr in spec.attributes if attr.sortable]
    parameters += [
        _query_parameter("sort", {"type": "string"}, f"Comma-separated, `-` for descending: {', '.join(sortable)}."),
        _query_parameter("page[number]", {"type": "integer", "minimum": 1}),
        _query_parameter("page[size]", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
    ]
    for attr in (ID, *spec.attributes):
        if not attr.filterable:
            continue
        predicate = "jcont" if attr.type == OBJECT else "eq"
        schema = {"type": "string"} if attr.type != OBJECT else {"type": "string", "example": '{"foo":"bar"}'}
        parameters.append(_query_parameter(f"filter[q][{attr.name}_{predicate}]", schema))
    parameters.append(
        _query_parameter(
            "filter[q][id_in]", {"type": "string"}, "Any `filter[q][<attribute>_<predicate>]`; see the reference."
        )
    )
    return parameters


ID_PARAMETER = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _paths(spec: ResourceSpec) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    tag = [spec.type]
    collection: dict[str, Any] = {}
    if spec.can("list"):
        collection["get"] = {
            "operationId": f"list_{spec.type}",
            "summary": f"List {spec.type}",
            "tags": tag,
            "parameters": _list_parameters(spec),
            "responses": _responses({"200": _list(spec)}),
        }
    if spec.can("create"):
        collection["post"] = {
            "operationId": f"create_{spec.type}",
            "summary": f"Create a {spec.type} resource",
            "tags": tag,
            "parameters": _read_parameters(spec),
            "requestBody": {"required": True, **_json(_ref(f"{spec.type}_create"))},
            "responses": _responses({"201": _single(spec, "Created")}),
        }
    if collection:
        paths[f"/api/{spec.type}"] = collection
    member: dict[str, Any] = {"parameters": [ID_PARAMETER]}
    if spec.can("retrieve"):
        member["get"] = {
            "operationId": f"retrieve_{spec.type}",
            "summary": f"Retrieve a {spec.type} resource",
            "tags": tag,
            "parameters": _read_parameters(spec),
            "responses": _responses({"200": _single(spec, "The resource")}),
        }
    if spec.can("update"):
        member["patch"] = {
            "operationId": f"update_{spec.type}",
            "summary": f"Update a {spec.type} resource (attributes, relationships, triggers)",
            "tags": tag,
            "parameters": _read_parameters(spec),
            "requestBody": {"required": True, **_json(_ref(f"{spec.type}_update"))},
            "responses": _responses({"200": _single(spec, "Updated")}),
        }
    if spec.can("delete"):
        member["delete"] = {
            "operationId": f"delete_{spec.type}",
            "summary": f"Delete a {spec.type} resource",
            "tags": tag,
            "responses": _responses({"204": {"description": "Deleted"}}),
        }
    paths[f"/api/{spec.type}/{{id}}"] = member
    for rel in spec.relationships:
        target = get_spec(rel.type)
        if rel.many:
            related_schema = _list(target) if target else {"description": "Always empty", **_json({"type": "object"})}
            parameters = _list_parameters(target) if target else []
        else:
            if target:
                related_schema = _single(target, f"The {rel.name}")
                related_schema["content"][MEDIA_TYPE]["schema"]["properties"]["data"] = {
                    "allOf": [_ref(target.type)],
                    "nullable": True,
                }
            else:
                related_schema = {"description": "Always null", **_json({"type": "object"})}
            parameters = _read_parameters(target) if target else []
        paths[f"/api/{spec.type}/{{id}}/{rel.name}"] = {
            "parameters": [ID_PARAMETER],
            "get": {
                "operationId": f"{spec.type}_{rel.name}",
                "summary": f"The {rel.name} of a {spec.type} resource",
                "tags": tag,
                "parameters": parameters,
                "responses": _responses({"200": related_schema}),
            },
        }
        linkage = {"type": "array", "items": _identifier(rel.type)} if rel.many else {**_identifier(rel.type),
                                                                                        "nullable": True}  # fmt: skip
        paths[f"/api/{spec.type}/{{id}}/relationships/{rel.name}"] = {
            "parameters": [ID_PARAMETER],
            "get": {
                "operationId": f"{spec.type}_relationships_{rel.name}",
                "summary": f"Linkage of the {rel.name} of a {spec.type} resource",
                "tags": tag,
                "parameters": (
                    [
                        _query_parameter("page[number]", {"type": "integer", "minimum": 1}),
                        _query_parameter("page[size]", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
                    ]
                    if rel.many
                    else []
                ),
                "responses": _responses(
                    {
                        "200": {
                            "description": "Resource identifiers",
                            **_json(
                                {
                                    "type": "object",
                                    "properties": {"data": linkage, "links": _links("self", "related")},
                                    "required": ["data", "links"],
                                }
                            ),
                        }
                    }
                ),
            },
        }
    return paths


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                    "code": {"type": "string"},
                    "status": {"type": "string"},
                    "source": {
                        "type": "object",
                        "properties": {"pointer": {"type": "string"}, "parameter": {"type": "string"}},
                    },
                    "meta": {"type": "object"},
                },
                "required": ["title", "detail", "code", "status", "source", "meta"],
            },
        }
    },
    "required": ["errors"],
}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    specs = all_specs()
    schemas: dict[str, Any] = {"errors": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for spec in specs:
        schemas[spec.type] = _resource_schema(spec)
        if spec.can("create"):
            schemas[f"{spec.type}_create"] = _write_document(spec, creating=True)
        if spec.can("update"):
            schemas[f"{spec.type}_update"] = _write_document(spec, creating=False)
        paths.update(_paths(spec))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Subscription back-office API",
            "version": "1.0.0",
            "description": "Commerce Layer compatible JSON:API for order subscriptions and recurring order copies. "
            "Get a token with POST /oauth/token (grant_type=client_credentials), then send "
            "`Authorization: Bearer <token>` and `Accept: application/vnd.api+json`.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {"market:all": "All"}}},
                },
            },
        },
    }


class OpenApiView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(orjson.dumps(openapi_document()), content_type="application/json")


class ReferenceView(View):
    """A readable page per resource: attributes with their flags, relationships, triggers, filters."""

    def get(self, request: HttpRequest) -> HttpResponse:
        resources = []
        for spec in all_specs():
            resources.append(
                {
                    "spec": spec,
                    "attributes": [attr for attr in spec.attributes if not attr.hidden],
                    "sortable": [attr.name for attr in spec.attributes if attr.sortable],
                    "filterable": [attr.name for attr in spec.attributes if attr.filterable],
                    "filterable_relationships": [rel.name for rel in spec.relationships if rel.filterable],
                    "actions": sorted(spec.actions),
                }
            )
        context = {"resources": resources, "predicates": sorted(PREDICATES), "max_page_size": MAX_PAGE_SIZE}
        return render(request, "api/reference.html", context)
