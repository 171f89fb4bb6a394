"""The JSON:API endpoints, generic over resource declarations. Views stay thin: read the request,
call the resource's service adapter, render the document.

    /api/{type}                              GET list, POST create
    /api/{type}/{id}                         GET, PATCH (attributes, relationships, triggers), DELETE
    /api/{type}/{id}/{relationship}          GET the related resource, or a filterable, sortable page of them
    /api/{type}/{id}/relationships/{name}    GET the linkage
"""

from typing import Any

import orjson
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import ratelimit
from api.auth.authentication import ApiClient
from api.conventions.errors import ApiError, RecordNotFound, validation_errors
from api.conventions.filters import build_filter
from api.conventions.input import parse_document
from api.conventions.media import MEDIA_TYPE
from api.conventions.query import QueryOptions, parse_query
from api.documents import DocumentBuilder, base_url_for, fetch_row, list_document, single_document
from api.registry import Rel, ResourceSpec, WriteContext, get_spec
from copies.events import acting_as


class ApiView(APIView):
    spec: ResourceSpec = None
    relationship: Rel | None = None
    action_names: dict[str, str] = {}

    # --- request lifecycle -------------------------------------------------------------------

    def initial(self, request: Request, *args, **kwargs) -> None:
        self._acting = None
        self._rate = ratelimit.ALWAYS
        super().initial(request, *args, **kwargs)
        client: ApiClient = request.auth
        action = self.action_names.get("GET" if request.method == "HEAD" else request.method)
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
        self._acting = acting_as(client.actor)
        self._acting.__enter__()

    def finalize_response(self, request, response, *args, **kwargs):
        acting = getattr(self, "_acting", None)
        if acting is not None:
            self._acting = None
            acting.__exit__(None, None, None)
        response = super().finalize_response(request, response, *args, **kwargs)
        ratelimit.add_headers(response, getattr(self, "_rate", ratelimit.ALWAYS))
        if response.status_code == 429 and "Retry-After" not in response:
            response["Retry-After"] = str(getattr(self, "_rate", ratelimit.ALWAYS).interval or 1)
        return response

    # --- helpers -----------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.request.auth.mode

    def builder(self, options: QueryOptions) -> DocumentBuilder:
        return DocumentBuilder(base_url=base_url_for(self.request), fields=options.fields)

    def row_or_404(self, spec: ResourceSpec, resource_id: str, relationships=()) -> dict[str, Any]:
        usable = len(resource_id) <= 64 and "\x00" not in resource_id
        row = fetch_row(spec, self.mode, resource_id, relationships) if usable else None
        if row is None:
            raise RecordNotFound()
        return row

    def instance_or_404(self, spec: ResourceSpec, resource_id: str):
        usable = len(resource_id) <= 64 and "\x00" not in resource_id
        instance = spec.base_queryset(self.mode).filter(pk=resource_id).first() if usable else None
        if instance is None:
            raise RecordNotFound()
        return instance

    def single_response(
        self, spec: ResourceSpec, resource_id: str, options: QueryOptions, status: int = 200
    ) -> Response:
        row = self.row_or_404(spec, resource_id, options.include)
        document = single_document(self.builder(options), spec, row, options.include, self.mode)
        return Response(document, status=status)

    def list_response(self, spec: ResourceSpec, queryset, options: QueryOptions) -> Response:
        if options.filters:
            queryset = queryset.filter(build_filter(spec, options.filters))
        record_count = queryset.count()
        ordering = [*(options.sort or spec.default_sort), "id"]
        offset = (options.page_number - 1) * options.page_size
        columns = spec.columns_with(options.include)
        rows = list(queryset.order_by(*ordering).values(*columns)[offset : offset + options.page_size])
        other_params = [
            (key, self.request.query_params.get(key))
            for key in self.request.query_params
            if not key.startswith("page[")
        ]
        document = list_document(
            self.builder(options),
            spec,
            rows,
            include=options.include,
            mode=self.mode,
            record_count=record_count,
            page_number=options.page_number,
            page_size=options.page_size,
            url=self.request.build_absolute_uri(self.request.path).rstrip("/"),
            other_params=other_params,
        )
        return Response(document)

    def write(self, spec: ResourceSpec, call, payload_values: dict | None = None):
        """Run a service adapter; its ValidationError becomes 422 per attribute (the transaction rolls back)."""
        try:
            return call()
        except ValidationError as exc:
            raise validation_errors(
                exc, relationships=spec.relationship_names, values=payload_values, model=spec.model
            ) from None


class CollectionView(ApiView):
    action_names = {"GET": "list", "POST": "create"}

    def get(self, request: Request, **kwargs) -> Response:
        options = parse_query(request.query_params, self.spec, collection=True)
        return self.list_response(self.spec, self.spec.base_queryset(self.mode), options)

    def post(self, request: Request, **kwargs) -> Response:
        options = parse_query(request.query_params, self.spec, collection=False)
        context = WriteContext(mode=self.mode, client=request.auth)
        with transaction.atomic():
            payload = parse_document(request.data, self.spec, mode=self.mode, creating=True)
            instance = self.write(
                self.spec,
                lambda: self.spec.create(context, payload.attributes, payload.relationships, payload.triggers),
                payload.raw_values,
            )
        return self.single_response(self.spec, instance.pk, options, status=201)


class MemberView(ApiView):
    action_names = {"GET": "retrieve", "PATCH": "update", "DELETE": "delete"}

    def get(self, request: Request, id: str, **kwargs) -> Response:
        options = parse_query(request.query_params, self.spec, collection=False)
        return self.single_response(self.spec, id, options)

    def patch(self, request: Request, id: str, **kwargs) -> Response:
        options = parse_query(request.query_params, self.spec, collection=False)
        context = WriteContext(mode=self.mode, client=request.auth)
        with transaction.atomic():
            instance = self.instance_or_404(self.spec, id)
            payload = parse_document(request.data, self.spec, mode=self.mode, creating=False, url_id=id)
            self.write(
                self.spec,
                lambda: self.spec.update(
                    context, instance, payload.attributes, payload.relationships, payload.triggers
                ),  # fmt: skip
                payload.raw_values,
            )
        return self.single_response(self.spec, id, options)

    def delete(self, request: Request, id: str, **kwargs) -> Response:
        parse_query(request.query_params, self.spec, collection=False)
        context = WriteContext(mode=self.mode, client=request.auth)
        with transaction.atomic():
            instance = self.instance_or_404(self.spec, id)
            self.write(self.spec, lambda: self.spec.delete(context, instance))
        return Response(status=204)


class RelatedView(ApiView):
    """`/api/{type}/{id}/{relationship}`: the related resource, or a page of related resources."""

    action_names = {"GET": "retrieve"}

    def get(self, request: Request, id: str, **kwargs) -> Response:
        rel = self.relationship
        target = get_spec(rel.type)
        if rel.many:
            options = parse_query(request.query_params, target, collection=True) if target else QueryOptions()
            parent = self.row_or_404(self.spec, id)
            if rel.empty or target is None:
                return Response(_empty_list(self.request, options))
            queryset = target.base_queryset(self.mode).filter(**{rel.reverse: parent["id"]}, **rel.reverse_filter)
            return self.list_response(target, queryset, options)
        options = parse_query(request.query_params, target, collection=False) if target else QueryOptions()
        parent = self.row_or_404(self.spec, id, [rel.name])
        related_id = None if rel.empty else parent[rel.column]
        if related_id is None or fetch_row(target, self.mode, related_id) is None:
            return Response({"data": None})
        return self.single_response(target, related_id, options)


class RelationshipView(ApiView):
    """`/api/{type}/{id}/relationships/{name}`: resource identifiers only."""

    action_names = {"GET": "retrieve"}

    def get(self, request: Request, id: str, **kwargs) -> Response:
        rel = self.relationship
        target = get_spec(rel.type)
        parent = self.row_or_404(self.spec, id, [rel.name])
        base = base_url_for(request)
        links = {
            "self": f"{base}/api/{self.spec.type}/{id}/relationships/{rel.name}",
            "related": f"{base}/api/{self.spec.type}/{id}/{rel.name}",
        }
        if not rel.many:
            parse_query(request.query_params, self.spec, collection=False, include_spec=self.spec)
            related_id = None if rel.empty else parent[rel.column]
            if related_id is not None and fetch_row(target, self.mode, related_id) is None:
                related_id = None
            data = {"type": rel.type, "id": related_id} if related_id is not None else None
            return Response({"data": data, "links": links})
        options = parse_query(request.query_params, target or self.spec, collection=True)
        if rel.empty or target is None:
            return Response({"data": [], "links": links, "meta": {"record_count": 0, "page_count": 0}})
        queryset = target.base_queryset(self.mode).filter(**{rel.reverse: parent["id"]}, **rel.reverse_filter)
        if options.filters:
            queryset = queryset.filter(build_filter(target, options.filters))
        record_count = queryset.count()
        offset = (options.page_number - 1) * options.page_size
        ids = queryset.order_by(*[*(options.sort or target.default_sort), "id"]).values_list("id", flat=True)
        data = [{"type": rel.type, "id": related_id} for related_id in ids[offset : offset + options.page_size]]
        page_count = -(-record_count // options.page_size)
        return Response({"data": data, "links": links, "meta": {"record_count": record_count,
                                                                "page_count": page_count}})  # fmt: skip


def _empty_list(request: Request, options: QueryOptions) -> dict[str, Any]:
    from api.documents import pagination_links

    url = request.build_absolute_uri(request.path).rstrip("/")
    other = [(key, request.query_params.get(key)) for key in request.query_params if not key.startswith("page[")]
    return {
        "data": [],
        "meta": {"record_count": 0, "page_count": 0},
        "links": pagination_links(url, options.page_number, options.page_size, 0, other),
    }


def unknown_path(request, *args, **kwargs) -> HttpResponse:
    """Any other path under /api/ answers a JSON:API 404, not Django's HTML page."""
    body = {"errors": [RecordNotFound().as_dict()]}
    return HttpResponse(orjson.dumps(body), status=404, content_type=MEDIA_TYPE)
