"""Routes of the JSON:API (`/api/...`), OAuth2 (`/oauth/...`) and the API reference, from the resource registry."""

from django.urls import path, re_path

from api.auth.oauth import RevokeTokenView, TokenView
from api.openapi import OpenApiView, ReferenceView
from api.registry import all_specs
from api.views import CollectionView, MemberView, RelatedView, RelationshipView, unknown_path

ID = r"(?P<id>[^/]+)"


def _resource_routes() -> list:
    routes = []
    for spec in all_specs():
        prefix = rf"^api/{spec.type}"
        routes.append(re_path(rf"{prefix}/?$", CollectionView.as_view(spec=spec), name=f"{spec.type}-list"))
        routes.append(re_path(rf"{prefix}/{ID}/?$", MemberView.as_view(spec=spec), name=f"{spec.type}-detail"))
        for rel in spec.relationships:
            routes.append(
                re_path(
                    rf"{prefix}/{ID}/{rel.name}/?$",
                    RelatedView.as_view(spec=spec, relationship=rel),
                    name=f"{spec.type}-{rel.name}",
                )
            )
            routes.append(
                re_path(
                    rf"{prefix}/{ID}/relationships/{rel.name}/?$",
                    RelationshipView.as_view(spec=spec, relationship=rel),
                    name=f"{spec.type}-relationships-{rel.name}",
                )
            )
    return routes


urlpatterns = [
    path("oauth/token", TokenView.as_view(), name="oauth-token"),
    path("oauth/revoke", RevokeTokenView.as_view(), name="oauth-revoke"),
    path("api/openapi.json", OpenApiView.as_view(), name="api-openapi"),
    path("api/reference", ReferenceView.as_view(), name="api-reference"),
    *_resource_routes(),
    re_path(r"^api/", unknown_path),
]
