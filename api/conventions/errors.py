"""Commerce Layer's error documents: `{"errors": [{title, detail, code, status, source, meta}]}`.

Every failure of an API request becomes one of these, from one place (`exception_handler`), so no
view formats errors by hand and no unexpected input reaches the client as a 500 page.
"""

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, ValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response


class ApiError(Exception):
    """One JSON:API error object; raise it (or ApiErrors) anywhere in a request."""

    status = 400
    code = "BAD_REQUEST"
    title = "Bad request"

    def __init__(
        self,
        detail: str = "",
        *,
        title: str | None = None,
        code: str | None = None,
        status: int | None = None,
        source: dict | None = None,
        meta: dict | None = None,
    ) -> None:
        super().__init__(detail or title or self.title)
        self.detail = detail or title or self.title
        self.title = title or self.title
        self.code = code or self.code
        self.status = status or self.status
        self.source = source or {}
        self.meta = meta or {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "detail": self.detail,
            "code": self.code,
            "status": str(self.status),
            "source": self.source,
            "meta": self.meta,
        }


class ApiErrors(Exception):
    """Several errors of the same status (e.g. one per failing attribute)."""

    def __init__(self, errors: list[ApiError]) -> None:
        super().__init__("; ".join(error.detail for error in errors))
        self.errors = errors
        self.status = errors[0].status


class BadParameter(ApiError):
    """A query parameter we do not accept; `source.parameter` names it."""

    def __init__(self, parameter: str, detail: str, *, code: str = "PARAM_NOT_ALLOWED", title: str | None = None):
        super().__init__(detail, title=title or "Invalid parameter", code=code, source={"parameter": parameter})


class BadDocument(ApiError):
    """A request body we cannot accept; `source.pointer` points into it."""

    def __init__(self, pointer: str, detail: str, *, code: str = "BAD_REQUEST", title: str | None = None):
        super().__init__(detail, title=title or "Bad request", code=code, source={"pointer": pointer})


class RecordNotFound(ApiError):
    status = 404
    code = "RECORD_NOT_FOUND"
    title = "Record not found"

    def __init__(self, detail: str = "The requested resource was not found. Please double-check the resource id."):
        super().__init__(detail)


class Locked(ApiError):
    status = 423
    code = "LOCKED"
    title = "Locked resource"


class InvalidToken(drf.AuthenticationFailed):
    default_detail = "The access token you provided is invalid."


# Rails' validation keys (meta.error) and messages for Django's own validation codes.
DJANGO_CODES: dict[str, tuple[str, str]] = {
    "blank": ("can't be blank", "blank"),
    "required": ("can't be blank", "blank"),
    "null": ("can't be blank", "blank"),
    "invalid_choice": ("is not included in the list", "inclusion"),
    "max_length": ("is too long (maximum is %(limit_value)s characters)", "too_long"),
    "unique": ("has already been taken", "taken"),
    "min_value": ("must be greater than or equal to %(limit_value)s", "greater_than_or_equal_to"),
    "max_value": ("must be less than or equal to %(limit_value)s", "less_than_or_equal_to"),
    "invalid": ("is invalid", "invalid"),
}
MESSAGE_KEYS = (
    ("can't be blank", "blank"),
    ("must be between", "inclusion"),
    ("is not included", "inclusion"),
    ("is not allowed", "inclusion"),
    ("must be in the future", "greater_than"),
    ("must be after", "greater_than"),
    ("cannot transition", "invalid_transition"),
    ("has already been taken", "taken"),
    ("is too long", "too_long"),
    ("must exist", "required"),
)


def _message_and_key(error: ValidationError) -> tuple[str, str]:
    if error.code in DJANGO_CODES:
        template, key = DJANGO_CODES[error.code]
        try:
            return template % (error.params or {}), key
        except (KeyError, TypeError, ValueError):
            return template, key
    message = error.message % error.params if error.params else error.message
    message = str(message)
    for prefix, key in MESSAGE_KEYS:
        if prefix in message:
            return message, key
    return message, str(error.code or "invalid")


def _condition_fields(condition) -> list[str]:
    fields: list[str] = []
    for child in condition.children if condition is not None else ():
        if isinstance(child, tuple):
            fields.append(child[0].split("__")[0])
        elif hasattr(child, "children"):
            fields.extend(_condition_fields(child))
    return fields


def _constraint_attribute(model, message: str) -> str | None:
    """The attribute a violated check constraint is about (its first field), so the error points at it."""
    for constraint in getattr(model, "_meta", None).constraints if model is not None else ():
        if f"“{constraint.name}”" in message or f'"{constraint.name}"' in message:
            fields = list(getattr(constraint, "fields", ()) or ()) or _condition_fields(
                getattr(constraint, "condition", None)
            )
            fields = [name for name in fields if name != "mode"]
            if fields:
                field = model._meta.get_field(fields[0])
                return field.name
    return None


def _by_attribute(error_dict: dict, model) -> dict[str, list[ValidationError]]:
    regrouped: dict[str, list[ValidationError]] = {}
    for name, field_errors in error_dict.items():
        for field_error in field_errors:
            target = name
            if name == NON_FIELD_ERRORS:
                target = _constraint_attribute(model, str(field_error.message)) or name
                if target != name:
                    field_error = ValidationError("is invalid", code="invalid")
            regrouped.setdefault(target, []).append(field_error)
    return regrouped


def validation_errors(
    exc: ValidationError,
    *,
    relationships: frozenset[str] = frozenset(),
    values: dict[str, Any] | None = None,
    model=None,
) -> ApiErrors:
    """422 VALIDATION_ERROR, one entry per failing attribute (or relationship) and message."""
    values = values or {}
    errors = []
    error_dict = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
    error_dict = _by_attribute(error_dict, model)
    for name, field_errors in error_dict.items():
        if name == NON_FIELD_ERRORS:
            pointer, label = "/data", "base"
        elif name in relationships:
            pointer, label = f"/data/relationships/{name}", name
        else:
            pointer, label = f"/data/attributes/{name}", name
        for field_error in field_errors:
            message, key = _message_and_key(field_error)
            meta: dict[str, Any] = {"error": key}
            if name in values:
                meta["value"] = values[name]
            errors.append(
                ApiError(
                    f"{label} - {message}",
                    title=message,
                    code="VALIDATION_ERROR",
                    status=422,
                    source={"pointer": pointer},
                    meta=meta,
                )
            )
    return ApiErrors(errors)


def _drf_error(exc: drf.APIException) -> ApiError:
    if isinstance(exc, InvalidToken):
        return ApiError(str(exc.detail), title="Invalid token", code="INVALID_TOKEN", status=401)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed | drf.PermissionDenied):
        return ApiError(
            "You are not authorized to perform this action on the requested resource.",
            title="Access denied",
            code="UNAUTHORIZED",
            status=401,
        )
    if isinstance(exc, drf.NotAcceptable):
        return ApiError(
            "The Accept header must allow application/vnd.api+json.",
            title="Not acceptable",
            code="NOT_ACCEPTABLE",
            status=406,
        )
    if isinstance(exc, drf.UnsupportedMediaType):
        return ApiError(
            "The Content-Type header must be application/vnd.api+json.",
            title="Unsupported media type",
            code="UNSUPPORTED_MEDIA_TYPE",
            status=415,
        )
    if isinstance(exc, drf.MethodNotAllowed):
        return ApiError(str(exc.detail), title="Method not allowed", code="METHOD_NOT_ALLOWED", status=405)
    if isinstance(exc, drf.NotFound):
        return RecordNotFound()
    if isinstance(exc, drf.Throttled):
        return ApiError("Too many requests, retry later.", title="Too many requests", code="TOO_MANY_REQUESTS",
                        status=429)  # fmt: skip
    if isinstance(exc, drf.ParseError):
        return ApiError(str(exc.detail), title="Bad request", code="BAD_REQUEST", status=400)
    return ApiError(str(exc.detail), status=exc.status_code, code="BAD_REQUEST")


def error_response(errors: list[ApiError], status: int, headers: dict | None = None) -> Response:
    return Response({"errors": [error.as_dict() for error in errors]}, status=status, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known failure as a Commerce Layer error document."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApiErrors):
        return error_response(exc.errors, exc.status)
    if isinstance(exc, ApiError):
        return error_response([exc], exc.status)
    if isinstance(exc, Http404):
        return error_response([RecordNotFound()], 404)
    if isinstance(exc, ValidationError):
        errors = validation_errors(exc)
        return error_response(errors.errors, 422)
    if isinstance(exc, RequestDataTooBig):
        error = ApiError("The request body is too large.", title="Payload too large", code="PAYLOAD_TOO_LARGE",
                         status=413)  # fmt: skip
        return error_response([error], 413)
    if isinstance(exc, ProtectedError | RestrictedError):
        error = Locked("Failed to destroy the resource: other resources still refer to it.")
        return error_response([error], 423)
    if isinstance(exc, drf.APIException):
        error = _drf_error(exc)
        if error.status == 401:
            view = context.get("view")
            request = context.get("request")
            if view is not None and request is not None:
                headers["WWW-Authenticate"] = view.get_authenticate_header(request) or 'Bearer realm="api"'
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        return error_response([error], error.status, headers)
    return None
