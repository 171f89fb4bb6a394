"""Routes of the JSON:API (`/api/...`), OAuth2 (`/oauth/...`) and the API reference, from the resource registry."""

from django.urls import path, re_path

from api.auth.oauth import RevokeTokenView, TokenView
from api.openapi import OpenApiView, ReferenceView
from api.registry import ResourceSpec, all_specs
from api.views import ResourceRelationshipView, ResourceViewSet, unknown_path

PK = r"(?P<pk>[^/]+)"
RELATED_FIELD = r"(?P<related_field>[a-z_]+)"


def _actions(spec: ResourceSpec, offered: dict[str, tuple[str, str]]) -> dict[str, str]:
    """HTTP method → viewset action, for the actions the resource offers (any other verb is a 405)."""
    return {method: action for method, (action, name) in offered.items() if spec.can(name)}


def _resource_routes() -> list:
    routes = []
    for spec in all_specs():
        prefix = rf"^api/{spec.type}"
        collection = _actions(spec, {"get": ("list", "list"), "post": ("create", "create")})
        member = _actions(
            spec,
            {
                "get": ("retrieve", "retrieve"),
                "patch": ("partial_update", "update"),
                "delete": ("destroy", "delete"),
            },
        )
        routes += [
            re_path(rf"{prefix}/?$", ResourceViewSet.as_view(collection, spec=spec), name=f"{spec.type}-list"),
            re_path(rf"{prefix}/{PK}/?$", ResourceViewSet.as_view(member, spec=spec), name=f"{spec.type}-detail"),
        ]
        if spec.relationships:
            routes += [
                re_path(
                    rf"{prefix}/{PK}/relationships/{RELATED_FIELD}/?$",
                    ResourceRelationshipView.as_view(spec=spec),
                    name=f"{spec.type}-relationships",
                ),
                re_path(
                    rf"{prefix}/{PK}/{RELATED_FIELD}/?$",
                    ResourceViewSet.as_view({"get": "retrieve_related"}, spec=spec),
                    name=f"{spec.type}-related",
                ),
            ]
    return routes


urlpatterns = [
    path("oauth/token", TokenView.as_view(), name="oauth-token"),
    path("oauth/revoke", RevokeTokenView.as_view(), name="oauth-revoke"),
    path("api/openapi.json", OpenApiView.as_view(), name="api-openapi"),
    path("api/reference", ReferenceView.as_view(), name="api-reference"),
    *_resource_routes(),
    re_path(r"^api/", unknown_path),
]
