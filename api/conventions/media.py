"""The JSON:API media type on the wire: `application/vnd.api+json` only, read with orjson.

DRF's content negotiation does the rest: an Accept header that does not allow this media type gets
406, a POST/PATCH body of another Content-Type gets 415 (GET and DELETE never read a body, so their
Content-Type is tolerated).
"""

import orjson
from rest_framework_json_api.parsers import JSONParser

from api.conventions.errors import ApiError

MEDIA_TYPE = "application/vnd.api+json"


class JsonApiParser(JSONParser):
    """Reads the raw JSON:API document; its shape is checked against the resource by `api.conventions.input`.

    It keeps django-rest-framework-json-api's parser (media type, place in DRF) but not its
    flattening of the document: Commerce Layer's rules (unpermitted attributes, KEY_NOT_INCLUDED_IN_URL,
    triggers) need the attributes and relationships as sent.
    """

    media_type = MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw:
            raise ApiError("The request body is empty: a JSON:API document is required.", code="BAD_REQUEST")
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError(f"The request body is not valid JSON: {exc}", code="BAD_REQUEST") from None
