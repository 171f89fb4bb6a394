"""`render_resource_document`: the document a GET returns, for callers outside a request (webhooks)."""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import models

from api.conventions.query import parse_include
from api.registry import spec_for_model
from api.renderers import CommerceLayerRenderer
from api.serializers import DocumentContext, serializer_for


def render_resource_document(instance: models.Model, *, include: Sequence[str] = (), request=None) -> dict[str, Any]:
    """Exactly the document `GET /api/{type}/{id}?include=...` returns for `instance` (used by webhooks).

    The same serializer, include loading and renderer as the view. Links are absolute: from the request
    when there is one, else from settings.API_BASE_URL. Raises LookupError when the row no longer exists.
    """
    spec = spec_for_model(type(instance))
    mode = instance.mode
    tree = parse_include(spec, ",".join(include)) if include else {}
    base = request.build_absolute_uri("/") if request is not None else settings.API_BASE_URL.rstrip("/") + "/"
    document = DocumentContext(base_url=f"{base}api/", mode=mode, include=tree)
    serializer_class = serializer_for(spec.type)
    row = spec.base_queryset(mode).filter(pk=instance.pk).values(*serializer_class.columns_for(tree)).first()
    if row is None:
        raise LookupError(f"{spec.type} {instance.pk} does not exist")
    document.included.load(serializer_class, [row], tree, mode)
    return CommerceLayerRenderer.build_document(serializer_class(row, context={"document": document}).data)
