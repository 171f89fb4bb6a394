"""The JSON:API endpoints: DJA viewsets over the generated serializers and filter sets.

    /api/{type}                                      list, create                         ResourceViewSet
    /api/{type}/{pk}                                 retrieve, partial_update, destroy    ResourceViewSet
    /api/{type}/{pk}/{related_field}                 retrieve_related: the related        ResourceViewSet
                                                     resource, or a filterable, sortable page of them
    /api/{type}/{pk}/relationships/{related_field}   the linkage                          ResourceRelationshipView

Views stay thin: the conventions every endpoint shares run before the handler
(`CommerceLayerConventions`), the handler reads the request, calls the resource's service adapter
and answers with serialized rows; filter backends, pagination, serializers and the renderer do the rest.
"""

from collections.abc import Callable
from functools import cached_property
from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_json_api.views import ModelViewSet, RelationshipView

from api import ratelimit
from api.auth.authentication import ApiClient
from api.conventions.errors import ApiError, RecordNotFound, validation_errors
from api.conventions.filters import RansackFilterBackend
from api.conventions.input import Payload
from api.conventions.media import MEDIA_TYPE
from api.conventions.pagination import CommerceLayerPagination
from api.conventions.query import JsonApiQueryValidation, QueryOptions, SortOrdering
from api.registry import Rel, ResourceSpec, WriteContext, get_spec
from api.serializers import DocumentContext, ResourceSerializer, serializer_for
from copies.events import acting_as

Row = dict[str, Any]


def usable_id(resource_id: str) -> bool:
    """Ids that could be stored (PostgreSQL refuses NUL characters): others are a 404 without a query."""
    return len(resource_id) <= 64 and "\x00" not in resource_id


class CommerceLayerConventions:
    """What every endpoint does before its handler, in this order: DRF's content negotiation (406) and
    authentication (401); the verb (405); the sales-channel rule (401); the rate limits (429); the
    query parameters (400). The request then acts as its credential for the events it causes."""

    spec: ResourceSpec | None = None
    pagination_class = CommerceLayerPagination
    filter_backends = (RansackFilterBackend, SortOrdering)
    query: QueryOptions  # what `include` and `fields[...]` ask for, read in initial()

    # --- what the request is about ------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.request.auth.mode

    @cached_property
    def relationship(self) -> Rel | None:
        name = self.kwargs.get("related_field")
        if name is None:
            return None
        rel = self.spec.relationship_map.get(name)
        if rel is None:
            raise RecordNotFound()
        return rel

    @cached_property
    def listed_spec(self) -> ResourceSpec | None:
        """The type this endpoint answers with (on relationship endpoints, the related type; None if not held)."""
        rel = self.relationship
        if rel is None:
            return self.spec
        return None if rel.empty else get_spec(rel.type)

    @cached_property
    def document(self) -> DocumentContext:
        return DocumentContext(
            base_url=self.request.build_absolute_uri("/") + "api/",
            mode=self.mode,
            include=self.query.include,
            fields=self.query.fields,
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "document": self.document}

    def api_action(self) -> str | None:
        """Commerce Layer's name for what the request does (list, retrieve, create, update, delete)."""
        raise NotImplementedError

    def read_query(self, request: Request) -> QueryOptions:
        raise NotImplementedError

    # --- request lifecycle -------------------------------------------------------------------

    def initial(self, request: Request, *args, **kwargs) -> None:
        self._acting = None
        self._rate = ratelimit.ALWAYS
        super().initial(request, *args, **kwargs)
        client: ApiClient = request.auth
        action = self.api_action()
        if action is None or not self.spec.can(action):
            # Commerce Layer answers a verb a resource does not offer with 405.
            self.http_method_not_allowed(request, *args, **kwargs)
        reads_a_list = action == "list" or (self.relationship is not None and self.relationship.many)
        if client.kind == "sales_channel" and (action != "retrieve" or reads_a_list):
            # Sales channels may only read single resources by id (decision A8).
            raise ApiError(
                "You are not authorized to perform this action on the requested resource.",
                title="Access denied",
                code="UNAUTHORIZED",
                status=401,
            )
        endpoint = f"{self.spec.type}:{action}:{self.relationship.name if self.relationship else ''}"
        self._rate = ratelimit.check_api_request(
            client_id=client.client_id, mode=client.mode, method=request.method, endpoint=endpoint
        )
        if not self._rate.allowed:
            raise ApiError(
                "Too many requests, retry later.",
                title="Too many requests",
                code="TOO_MANY_REQUESTS",
                status=429,
                meta={"limit": self._rate.limit, "interval": self._rate.interval},
            )
        self.query = self.read_query(request)
        self._acting = acting_as(client.actor)
        self._acting.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        acting = getattr(self, "_acting", None)
        if acting is not None:
            self._acting = None
            acting.__exit__(None, None, None)
        response = super().finalize_response(request, response, *args, **kwargs)
        rate = getattr(self, "_rate", ratelimit.ALWAYS)
        ratelimit.add_headers(response, rate)
        if response.status_code == 429 and "Retry-After" not in response:
            response["Retry-After"] = str(rate.interval or 1)
        return response

    # --- reading -----------------------------------------------------------------------------

    def parent_row(self, *columns: str) -> Row:
        """The resource named by the URL, in the token's mode (404 otherwise), with these columns."""
        pk = self.kwargs["pk"]
        row = self.spec.base_queryset(self.mode).filter(pk=pk).values("id", *columns).first() if usable_id(pk) else None
        if row is None:
            raise RecordNotFound()
        return row

    def related_queryset(self, parent_id: str) -> models.QuerySet:
        """The listed type's rows that a to-many relationship of the parent holds."""
        rel = self.relationship
        return self.listed_spec.base_queryset(self.mode).filter(**{rel.reverse: parent_id}, **rel.reverse_filter)


class ResourceViewSet(CommerceLayerConventions, ModelViewSet):
    """One resource type's endpoints (`spec`), on DJA's ModelViewSet.

    `get_queryset` is ours: DJA's AutoPrefetchMixin and PreloadIncludesMixin prefetch model
    relations, while includes here are declared relationships loaded with the rows (`api.includes`).
    """

    parent_id: str | None = None  # the parent of a to-many related list (`/{type}/{pk}/{relationship}`)
    ACTIONS = {
        "list": "list",
        "create": "create",
        "retrieve": "retrieve",
        "retrieve_related": "retrieve",
        "partial_update": "update",
        "destroy": "delete",
    }

    def api_action(self) -> str | None:
        return self.ACTIONS.get(self.action)

    def read_query(self, request: Request) -> QueryOptions:
        if self.listed_spec is None:
            return QueryOptions()  # a relationship this back-office holds nothing for
        collection = self.action == "list" or (self.relationship is not None and self.relationship.many)
        return JsonApiQueryValidation(collection=collection).query_options(request, self.listed_spec)

    def get_queryset(self) -> models.QuerySet:
        if self.relationship is not None and self.relationship.many:
            return self.related_queryset(self.parent_id)
        return self.listed_spec.base_queryset(self.mode)

    def get_serializer_class(self) -> type[ResourceSerializer]:
        return serializer_for(self.listed_spec.type)

    def get_object(self) -> models.Model:
        """The model instance a write acts on (member routes take no filter or sort parameters)."""
        pk = self.kwargs["pk"]
        instance = self.get_queryset().filter(pk=pk).first() if usable_id(pk) else None
        if instance is None:
            raise RecordNotFound()
        return instance

    def read_rows(self, queryset: models.QuerySet) -> list[Row]:
        """The listed type's rows and their included resources: one query, plus one per include path."""
        serializer_class = self.get_serializer_class()
        document = self.document
        rows = list(queryset.values(*serializer_class.columns_for(document.include)))
        document.included.load(serializer_class, rows, document.include, document.mode)
        return rows

    def paginate_queryset(self, queryset: models.QuerySet) -> list[Row]:
        return self.read_rows(super().paginate_queryset(queryset))

    def resource_response(self, pk: str, status: int = 200) -> Response:
        rows = self.read_rows(self.get_queryset().filter(pk=pk)) if usable_id(pk) else []
        if not rows:
            raise RecordNotFound()
        return Response(self.get_serializer(rows[0]).data, status=status)

    # --- handlers ----------------------------------------------------------------------------

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self.resource_response(kwargs["pk"])

    def retrieve_related(self, request: Request, *args, **kwargs) -> Response:
        rel = self.relationship
        if rel.many:
            self.parent_id = self.parent_row()["id"]
            if self.listed_spec is None:
                self.paginator.paginate_queryset(self.spec.model._default_manager.none(), request, view=self)
                return self.paginator.get_paginated_response([])
            return self.list(request, *args, **kwargs)
        related_id = None if rel.empty else self.parent_row(rel.column)[rel.column]
        if related_id is None or self.listed_spec is None:
            return Response({"data": None})
        rows = self.read_rows(self.get_queryset().filter(pk=related_id))
        return Response(self.get_serializer(rows[0]).data if rows else {"data": None})

    def create(self, request: Request, *args, **kwargs) -> Response:
        with transaction.atomic():
            payload = self.read_payload()
            instance = self.call_service(self.spec.create, payload.attributes, payload.relationships, payload.triggers,
                                         payload=payload)  # fmt: skip
        return self.resource_response(instance.pk, status=201)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        with transaction.atomic():
            instance = self.get_object()
            payload = self.read_payload(instance)
            self.call_service(self.spec.update, instance, payload.attributes, payload.relationships, payload.triggers,
                              payload=payload)  # fmt: skip
        return self.resource_response(kwargs["pk"])

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        with transaction.atomic():
            self.call_service(self.spec.delete, self.get_object())
        return Response(status=204)

    # --- writing -----------------------------------------------------------------------------

    def read_payload(self, instance: models.Model | None = None) -> Payload:
        """The request's document, checked by the serializer (Commerce Layer's rules; a 4xx otherwise)."""
        serializer = self.get_serializer(instance, data=self.request.data, partial=instance is not None)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def call_service(self, adapter: Callable[..., Any], *args: Any, payload: Payload | None = None) -> Any:
        """Run a service adapter for the token's mode and client; its ValidationError becomes 422 per
        attribute (and the request's transaction rolls back)."""
        try:
            return adapter(WriteContext(mode=self.mode, client=self.request.auth), *args)
        except ValidationError as exc:
            raise validation_errors(
                exc,
                relationships=self.spec.relationship_names,
                values=payload.raw_values if payload is not None else None,
                model=self.spec.model,
            ) from None


class ResourceRelationshipView(CommerceLayerConventions, RelationshipView):
    """`/api/{type}/{pk}/relationships/{name}`: resource identifiers only, on DJA's RelationshipView.

    Read-only (DJA's POST/PATCH/DELETE of relationships answer 405); a to-many linkage is a page,
    filterable and sortable like the related list, with its `meta`.
    """

    http_method_names = ["get", "head"]

    def api_action(self) -> str | None:
        return "retrieve" if self.request.method in ("GET", "HEAD") else None

    def read_query(self, request: Request) -> QueryOptions:
        rel = self.relationship
        if rel.many:
            return JsonApiQueryValidation(collection=True).query_options(request, self.listed_spec or self.spec)
        return JsonApiQueryValidation(collection=False).query_options(request, self.spec)

    def get(self, request: Request, *args, **kwargs) -> Response:
        rel = self.relationship
        self.linkage_meta: dict[str, int] = {}
        if not rel.many:
            related_id = None if rel.empty else self.parent_row(rel.column)[rel.column]
            if self.listed_spec is None or related_id is None:
                return Response(None)
            exists = self.listed_spec.base_queryset(self.mode).filter(pk=related_id).exists()
            return Response({"type": rel.type, "id": related_id} if exists else None)
        parent_id = self.parent_row()["id"]
        if self.listed_spec is None:
            self.linkage_meta = {"record_count": 0, "page_count": 0}
            return Response([])
        page = self.paginate_queryset(self.filter_queryset(self.related_queryset(parent_id)))
        self.linkage_meta = self.paginator.get_meta()
        return Response([{"type": rel.type, "id": related_id} for related_id in page.values_list("id", flat=True)])

    def get_links(self) -> dict[str, str]:
        self_url = f"{self.request.build_absolute_uri('/')}api/{self.spec.type}/{self.kwargs['pk']}"
        name = self.relationship.name
        return {"self": f"{self_url}/relationships/{name}", "related": f"{self_url}/{name}"}

    def get_meta(self) -> dict[str, int]:
        return self.linkage_meta


def unknown_path(request, *args, **kwargs) -> HttpResponse:
    """Any other path under /api/ answers a JSON:API 404, not Django's HTML page."""
    body = {"errors": [RecordNotFound().as_dict()]}
    return HttpResponse(orjson.dumps(body), status=404, content_type=MEDIA_TYPE)
