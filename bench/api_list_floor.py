"""API list floor ratio (issue 7, benchmark 1): the JSON:API list against the bare cost of the same document.

    .venv/bin/python bench/api_list_floor.py [--copies 100000] [--requests 300] [--profile]

Seeds recurring order copies in PostgreSQL (1% of them `failed`), not timed. Then, in one process
and interleaved so both see the same machine, it times:

- the API: `GET /api/recurring_order_copies?page[size]=25&include=source_order,order_subscription
  &sort=-created_at` through the full Django stack (the WSGI handler gunicorn calls: middleware,
  bearer token from /oauth/token, DRF/DJA view, filter backends, pagination, serializers,
  renderer), rate limits off;
- the floor: the same SQL work (count, page, related rows) with `.values()`, built into the same
  document with plain dicts and serialized with orjson (checked equal to the API's answer first);

once unfiltered and once with `filter[q][status_eq]=failed`, and prints the median ratios. The
last line is the result. `--profile` prints where the API's time goes (cProfile) instead.
"""

import argparse
import cProfile
import io
import math
import os
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Production-like settings for the timed process: persistent database connections (a new
# PostgreSQL connection per request would dwarf everything else) and rate limits off.
os.environ.setdefault("DB_CONN_MAX_AGE", "600")
os.environ["API_RATE_LIMITS_ENABLED"] = "0"

from bench.setup import configure, machine  # noqa: E402

CHUNK = 50_000
PAGE_SIZE = 25
INCLUDE = "source_order,order_subscription"
FILTERED_STATUS = "failed"  # one copy in a hundred
BASE_URL = "http://127.0.0.1:8000"
FAILED_LOG = {"payment_source": ["is expired"], "status": ["cannot transition from draft to placed"]}


def seed(copies: int, subscriptions: int) -> None:
    from django.db import connection, transaction

    from copies.models import RecurringOrderCopy
    from orders.bulk import insert_rows
    from subscriptions.models import OrderSubscription
    from tests.factories import bulk_due_subscriptions

    now = datetime.now(UTC)
    bulk_due_subscriptions(subscriptions, due_at=now + timedelta(days=3), items_per_order=1)
    subs = list(OrderSubscription.objects.values_list("id", "source_order_id"))
    done = 0
    while done < copies:
        size = min(CHUNK, copies - done)
        rows = []
        for index in range(done, done + size):
            sub_id, source_id = subs[index % len(subs)]
            created = now - timedelta(minutes=index // 3)
            failed = index % 100 == 7
            rows.append({
                "order_subscription_id": sub_id, "source_order_id": source_id,
                "status": "failed" if failed else "completed", "started_at": created,
                "completed_at": None if failed else created, "failed_at": created if failed else None,
                "errors_log": FAILED_LOG if failed else {}, "errors_count": 2 if failed else 0,
                "cycle_at": created, "created_at": created, "updated_at": created,
            })  # fmt: skip
        with transaction.atomic():
            insert_rows(RecurringOrderCopy, rows)
        done += size
        print(f"  seeded {done} copies", flush=True)
    with connection.cursor() as cursor:
        for table in ("copies_recurringordercopy", "orders_order", "subscriptions_ordersubscription"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- the API, through the WSGI handler ------------------------------------------------------------


class Wsgi:
    """Calls Django's WSGI application the way a WSGI server does, without a socket."""

    def __init__(self) -> None:
        from django.core.wsgi import get_wsgi_application

        self.application = get_wsgi_application()

    def call(self, method: str, path: str, query: str = "", body: bytes = b"", headers: dict | None = None):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **(headers or {}),
        }
        status_line = []
        chunks = self.application(environ, lambda status, response_headers, exc_info=None: status_line.append(status))
        try:
            content = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return int(status_line[0].split()[0]), content


def access_token(wsgi: Wsgi) -> str:
    import orjson

    from api.services import api_credential_create

    issued = api_credential_create(name="Benchmark", mode="test")
    body = orjson.dumps(
        {"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.client_secret}
    )
    status, content = wsgi.call("POST", "/oauth/token", body=body, headers={"CONTENT_TYPE": "application/json"})
    assert status == 200, content
    return orjson.loads(content)["access_token"]


# --- the floor: the same queries and document, by hand ------------------------------------------


class FloorType:
    """One type's columns and attributes, worked out once, so the floor pays only per row."""

    def __init__(self, resource_type: str, *extra_columns: str) -> None:
        from api.registry import DATETIME, get_spec

        spec = get_spec(resource_type)
        self.type = spec.type
        self.model = spec.model
        names = ["id", "mode"]
        self.attributes = []  # (name, column, compute, is_datetime, as_text)
        for attr in spec.attributes:
            if attr.hidden:
                continue
            names.extend(attr.needs if attr.compute else (attr.source,))
            self.attributes.append((attr.name, attr.source, attr.compute, attr.type == DATETIME, attr.text_cast))
        self.columns = list(dict.fromkeys([*names, *extra_columns]))
        self.relationships = [rel.name for rel in spec.relationships]

    def resource(self, row: dict, linkage: dict | None = None) -> dict:
        from api.conventions.formats import timestamp

        self_url = f"{BASE_URL}/api/{self.type}/{row['id']}"
        attributes = {}
        for name, column, compute, is_datetime, as_text in self.attributes:
            if compute is not None:
                attributes[name] = compute(row)
                continue
            value = row[column]
            if value is not None and is_datetime:
                value = timestamp(value)
            elif value is not None and as_text:
                value = str(value)
            attributes[name] = value
        relationships = {}
        for name in self.relationships:
            entry = {"links": {"self": f"{self_url}/relationships/{name}", "related": f"{self_url}/{name}"}}
            if linkage and name in linkage:
                entry["data"] = linkage[name]
            relationships[name] = entry
        return {
            "id": row["id"],
            "type": self.type,
            "links": {"self": self_url},
            "attributes": attributes,
            "relationships": relationships,
            "meta": {"mode": row["mode"]},
        }


_floor_types: list[FloorType] = []


def floor_document(status: str | None) -> bytes:
    """Count, page and the two included types with `.values()`, built into the API's document, orjson'd."""
    import orjson

    if not _floor_types:
        _floor_types.extend(
            (
                FloorType("recurring_order_copies", "source_order_id", "order_subscription_id"),
                FloorType("orders"),
                FloorType("order_subscriptions"),
            )
        )
    copies, orders, subscriptions = _floor_types
    queryset = copies.model.objects.filter(mode="test")
    if status:
        queryset = queryset.filter(status=status)
    record_count = queryset.count()
    rows = list(queryset.order_by("-created_at", "id").values(*copies.columns)[:PAGE_SIZE])
    order_ids = {row["source_order_id"] for row in rows}
    subscription_ids = {row["order_subscription_id"] for row in rows}
    related_orders = orders.model.objects.filter(mode="test", pk__in=order_ids).values(*orders.columns)
    related_subscriptions = subscriptions.model.objects.filter(mode="test", pk__in=subscription_ids).values(
        *subscriptions.columns
    )
    data = [
        copies.resource(
            row,
            {
                "source_order": {"type": "orders", "id": row["source_order_id"]},
                "order_subscription": {"type": "order_subscriptions", "id": row["order_subscription_id"]},
            },
        )
        for row in rows
    ]
    included = [orders.resource(row) for row in related_orders]
    included += [subscriptions.resource(row) for row in related_subscriptions]
    page_count = math.ceil(record_count / PAGE_SIZE)

    def link(number: int) -> str:
        query = f"page[number]={number}&page[size]={PAGE_SIZE}&include={INCLUDE}&sort=-created_at"
        if status:
            query += f"&filter[q][status_eq]={status}"
        return f"{BASE_URL}/api/recurring_order_copies?{query}"

    links = {"first": link(1)}
    if page_count > 1:
        links["next"] = link(2)
    links["last"] = link(max(page_count, 1))
    document = {
        "data": data,
        "included": included,
        "meta": {"record_count": record_count, "page_count": page_count},
        "links": links,
    }
    return orjson.dumps(document)


# --- timing ----------------------------------------------------------------------------------


def api_query(status: str | None) -> str:
    params = {"page[size]": PAGE_SIZE, "include": INCLUDE, "sort": "-created_at"}
    if status:
        params["filter[q][status_eq]"] = status
    return urlencode(params)


def same_document(api_content: bytes, floor_content: bytes) -> None:
    import orjson

    api, floor = orjson.loads(api_content), orjson.loads(floor_content)
    # The API lists included resources in the order it loaded them; the floor by type.
    key = lambda item: (item["type"], item["id"])  # noqa: E731
    api["included"].sort(key=key)
    floor["included"].sort(key=key)
    assert api == floor, "the floor must build the API's document"


def measure(wsgi: Wsgi, headers: dict, status: str | None, requests: int) -> tuple[float, float]:
    """Median milliseconds of the API and of the floor, interleaved request by request."""
    query = api_query(status)
    path = "/api/recurring_order_copies"
    code, content = wsgi.call("GET", path, query, headers=headers)
    assert code == 200, content[:500]
    same_document(content, floor_document(status))
    for _ in range(20):  # warm caches: plans, filters, query compilation, PostgreSQL buffers
        wsgi.call("GET", path, query, headers=headers)
        floor_document(status)
    api_times, floor_times = [], []
    for _ in range(requests):
        started = time.perf_counter()
        wsgi.call("GET", path, query, headers=headers)
        api_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        floor_document(status)
        floor_times.append(time.perf_counter() - started)
    return statistics.median(api_times) * 1000, statistics.median(floor_times) * 1000


def profile(wsgi: Wsgi, headers: dict, status: str | None, requests: int) -> None:
    query = api_query(status)
    for _ in range(20):
        wsgi.call("GET", "/api/recurring_order_copies", query, headers=headers)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        wsgi.call("GET", "/api/recurring_order_copies", query, headers=headers)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
    print(f"--- profile, {'filtered' if status else 'unfiltered'}, {requests} requests ---")
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    configure()
    seed(args.copies, args.subscriptions)
    print(f"machine: {machine()}")
    wsgi = Wsgi()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {access_token(wsgi)}", "HTTP_ACCEPT": "application/vnd.api+json"}
    if args.profile:
        profile(wsgi, headers, None, args.requests)
        profile(wsgi, headers, FILTERED_STATUS, args.requests)
        return
    results = []
    for label, status in (("unfiltered", None), (f"filter[q][status_eq]={FILTERED_STATUS} (1%)", FILTERED_STATUS)):
        api_ms, floor_ms = measure(wsgi, headers, status, args.requests)
        ratio = api_ms / floor_ms
        results.append(f"{label} {ratio:.2f}x")
        print(f"{label}: API {api_ms:.2f} ms, floor {floor_ms:.2f} ms, ratio {ratio:.2f}x (median of {args.requests})")
    print(f"API list floor ratio ({args.copies} copies, page of {PAGE_SIZE} with 2 includes): " + "; ".join(results))


if __name__ == "__main__":
    main()
