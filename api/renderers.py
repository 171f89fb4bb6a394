"""Commerce Layer's documents, rendered by DJA's JSONRenderer with the per-resource work precompiled.

The document shape is Commerce Layer's, not DJA's default: members in the seeds' order (`data`,
`included`, `meta`, `links`), absolute `links.self` on every resource, `links` on every relationship
(with `data` only when included), `meta.mode`, list `meta` as `{record_count, page_count}`, and errors
already formatted by `api.conventions.errors`. Output is orjson.

DJA's `render` walks every field of every resource (`extract_attributes`, `extract_relationships`
with a `reverse()` per link, `extract_included` re-serializing related instances); here
`build_json_resource_obj` reads the serializer's compiled plan, links are formatted from the base
URL, and `included` comes from the resources loaded once per include path (`api.includes`).
"""

from typing import Any

import orjson
from rest_framework.serializers import ListSerializer
from rest_framework_json_api.renderers import JSONRenderer

from api.conventions.media import MEDIA_TYPE
from api.serializers import ResourcePlan, ResourceSerializer


class CommerceLayerRenderer(JSONRenderer):
    media_type = MEDIA_TYPE
    format = "vnd.api+json"
    charset = None

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        if response is not None and response.status_code == 204:
            return b""
        if isinstance(data, dict) and "errors" in data:
            return self.render_errors(data, accepted_media_type, renderer_context)
        # Imported here, as DJA does: DRF's views read DEFAULT_RENDERER_CLASSES when they are imported.
        from rest_framework_json_api.views import RelationshipView

        if isinstance(renderer_context.get("view"), RelationshipView):
            return self.render_relationship_view(data, accepted_media_type, renderer_context)
        if data is None:
            return b""
        return orjson.dumps(self.build_document(data))

    def render_errors(self, data: dict, accepted_media_type=None, renderer_context=None) -> bytes:
        return orjson.dumps(data)  # already Commerce Layer's error objects (api.conventions.errors)

    def render_relationship_view(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        view = renderer_context["view"]
        document = {"data": data, "links": view.get_links()}
        meta = view.get_meta()
        if meta:
            document["meta"] = meta
        return orjson.dumps(document)

    @classmethod
    def build_document(cls, data: Any) -> dict[str, Any]:
        """The document for what a view answered: a serializer's data, or a page of it (`results`, `meta`, `links`)."""
        paginated = isinstance(data, dict) and "results" in data
        results = data["results"] if paginated else data
        serializer = getattr(results, "serializer", None)
        if serializer is None:
            # Built by the view itself: `{"data": null}`, or an empty page.
            document = {"data": results} if paginated else dict(results)
        else:
            many = isinstance(serializer, ListSerializer)
            child: ResourceSerializer = serializer.child if many else serializer
            plan = child.plan
            resources = results if many else [results]
            objects = [cls.build_json_resource_obj(plan, resource, None, plan.type, child) for resource in resources]
            document = {"data": objects if many else objects[0]}
            if child.document.include:
                primary = {(plan.type, resource["id"]) for resource in resources}
                document["included"] = cls.build_included(child, primary)
        if paginated:
            document["meta"] = data["meta"]
            document["links"] = data["links"]
        return document

    @classmethod
    def build_json_resource_obj(
        cls,
        fields: ResourcePlan,
        resource: dict[str, Any],
        resource_instance: Any,
        resource_name: str,
        serializer: ResourceSerializer,
        force_type_resolution: bool = False,
    ) -> dict[str, Any]:
        """One resource object from the serializer's representation, laid out by its plan (`fields`)."""
        resource_id = resource["id"]
        self_url = f"{serializer.document.base_url}{resource_name}/{resource_id}"
        relationships = {}
        for name in fields.relationships:
            entry: dict[str, Any] = {
                "links": {"self": f"{self_url}/relationships/{name}", "related": f"{self_url}/{name}"}
            }
            if name in resource:
                entry["data"] = resource[name]
            relationships[name] = entry
        return {
            "id": resource_id,
            "type": resource_name,
            "links": {"self": self_url},
            "attributes": {name: resource[name] for name in fields.attribute_names},
            "relationships": relationships,
            "meta": {name: resource[name] for name in fields.meta},
        }

    @classmethod
    def build_included(cls, primary_serializer: ResourceSerializer, primary: set[tuple[str, str]]) -> list[dict]:
        """Every included resource once, in load order, rendered by its own type's serializer."""
        context = primary_serializer.context
        serializers: dict[type, ResourceSerializer] = {}
        included = []
        for key, (serializer_class, row) in primary_serializer.document.included.resources.items():
            if key in primary:
                continue
            serializer = serializers.get(serializer_class)
            if serializer is None:
                serializer = serializers[serializer_class] = serializer_class(context=context)
            plan = serializer.plan
            included.append(
                cls.build_json_resource_obj(plan, serializer.to_representation(row), row, plan.type, serializer)
            )
        return included
