"""What a webhook sends: the resource's JSON:API document, exactly as `GET /api/{type}/{id}` returns it.

The only bridge to the API layer is `render_resource_document` (and the registry, for the shape of
a `destroy` document), so the API can be refactored without touching deliveries.
"""

from collections.abc import Sequence
from typing import Any

import orjson
from django.conf import settings

from api.conventions.errors import ApiError
from api.conventions.query import parse_include
from api.documents import render_resource_document
from api.registry import get_spec


def include_errors(resource_type: str, include_resources: Sequence[str]) -> list[str]:
    """Why `include_resources` is not a valid `include` of `resource_type` (empty when it is)."""
    spec = get_spec(resource_type)
    if spec is None:
        return [f"{resource_type} has no relationships to include"]
    errors = []
    for path in include_resources:
        try:
            parse_include(spec, path)
        except ApiError as exc:
            errors.append(exc.detail)
    return errors


def resource_document(resource_type: str, resource_id: str, mode: str, include: Sequence[str]) -> dict[str, Any]:
    """The GET document of the resource with `included`; raises LookupError when it no longer exists."""
    spec = get_spec(resource_type)
    # An unsaved instance is enough: the renderer reads the row itself, by type, id and mode.
    instance = spec.model(pk=resource_id, mode=mode)
    return render_resource_document(instance, include=tuple(include))


def destroyed_resource_document(
    resource_type: str, resource_id: str, mode: str, include: Sequence[str]
) -> dict[str, Any]:
    """A deleted resource: only `id` is filled; every attribute, and every included relationship, is null.

    Commerce Layer documents the `.destroy` payload this way (the resource is gone when the call is
    made); the shape (links, meta, attribute names) stays the GET document's so receivers parse it alike.
    """
    spec = get_spec(resource_type)
    self_url = f"{settings.API_BASE_URL}/api/{resource_type}/{resource_id}"
    included_names = {path.split(".", 1)[0] for path in include}
    relationships = {}
    for rel in spec.relationships:
        entry: dict[str, Any] = {
            "links": {"self": f"{self_url}/relationships/{rel.name}", "related": f"{self_url}/{rel.name}"}
        }
        if rel.name in included_names:
            entry["data"] = None
        relationships[rel.name] = entry
    document: dict[str, Any] = {
        "data": {
            "id": resource_id,
            "type": resource_type,
            "links": {"self": self_url},
            "attributes": {attr.name: None for attr in spec.attributes if not attr.hidden},
            "relationships": relationships,
            "meta": {"mode": mode},
        }
    }
    if include:
        document["included"] = []
    return document


def event_document(
    *, resource_type: str, resource_id: str, mode: str, event_name: str, include: Sequence[str]
) -> dict[str, Any]:
    if event_name == "destroy":
        return destroyed_resource_document(resource_type, resource_id, mode, include)
    try:
        return resource_document(resource_type, resource_id, mode, include)
    except LookupError:
        # Deleted between the event and its delivery: say what we still know, as a destroy would.
        return destroyed_resource_document(resource_type, resource_id, mode, include)


def serialize(document: dict[str, Any]) -> str:
    """Compact JSON, keys in document order, UTF-8 unescaped: for our documents, what JavaScript's
    `JSON.stringify(JSON.parse(body))` gives back, so receivers that re-serialise the parsed body
    (as an old Commerce Layer sample did) still compute the same signature as those that use the raw one."""
    return orjson.dumps(document).decode()
