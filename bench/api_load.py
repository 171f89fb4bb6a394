"""API under load (issue 7, benchmark 5): gunicorn serving the API, wrk driving it over loopback.

    apt-get install -y wrk   # once (Debian's package)
    .venv/bin/python bench/api_load.py [--copies 100000] [--duration 20] [--workers 4] [--connections 4]

Seeds recurring order copies in PostgreSQL (not timed), starts gunicorn (sync workers, persistent
database connections, rate limits off so one token can be driven flat out), takes a token from
/oauth/token, then runs wrk from a second process for a bounded time per scenario:

- list: `GET /api/recurring_order_copies?page[size]=25&include=source_order,order_subscription&sort=-created_at`
- create: `POST /api/recurring_order_copies` (an on-demand copy of one of the active subscriptions,
  spread over them so requests do not queue on one subscription's row lock; each is committed and
  its job enqueued in Redis)

and prints p50 and p99 latency and requests per second for each. The last line is the result.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ["API_RATE_LIMITS_ENABLED"] = "0"

from bench.api_list_floor import INCLUDE, PAGE_SIZE, seed  # noqa: E402
from bench.setup import DATABASE_URL, REDIS_URL, ROOT, configure, machine  # noqa: E402

LIST_PATH = f"/api/recurring_order_copies?page[size]={PAGE_SIZE}&include={INCLUDE}&sort=-created_at"
CREATE_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/vnd.api+json"
local pairs = {%(pairs)s}
local threads = 0
function setup(thread)
  thread:set("offset", threads * %(spread)d)
  threads = threads + 1
end
function init(args)
  counter = offset
end
function request()
  counter = counter + 1
  local pair = pairs[(counter %% #pairs) + 1]
  local body = string.format(
    '{"data":{"type":"recurring_order_copies","attributes":{"reference":"load-%%d"},'
    .. '"relationships":{"order_subscription":{"data":{"type":"order_subscriptions","id":"%%s"}},'
    .. '"source_order":{"data":{"type":"orders","id":"%%s"}}}}}', counter, pair[1], pair[2])
  return wrk.format(nil, "/api/recurring_order_copies", nil, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DB_CONN_MAX_AGE": "600",
        "API_RATE_LIMITS_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        "API_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi:application", "--config", "config/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited") from None
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def access_token(port: int) -> str:
    import orjson

    from api.services import api_credential_create

    issued = api_credential_create(name="Load test", mode="test")
    body = orjson.dumps(
        {"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.client_secret}
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/oauth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return orjson.loads(response.read())["access_token"]


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, token: str, *, duration: int, connections: int, script: str | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
               "-H", f"Authorization: Bearer {token}", "-H", "Accept: application/vnd.api+json"]  # fmt: skip
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "p50": _ms(percentiles["50"]),
        "p99": _ms(percentiles["99"]),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=2_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (2 threads), one per worker")
    args = parser.parse_args()

    configure()
    seed(args.copies, args.subscriptions)
    from subscriptions.models import OrderSubscription

    pairs = list(OrderSubscription.objects.filter(mode="test").values_list("id", "source_order_id"))
    print(f"machine: {machine()}")
    port = free_port()
    server = start_gunicorn(port, args.workers)
    try:
        token = access_token(port)
        base = f"http://127.0.0.1:{port}"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(
                CREATE_SCRIPT
                % {
                    "pairs": ",".join(f'{{"{sub}","{source}"}}' for sub, source in pairs),
                    "spread": max(len(pairs) // 2, 1),
                }
            )
        results = {}
        for name, url, lua in (("list", base + LIST_PATH, None), ("create", base + "/api/recurring_order_copies",
                                                                     script.name)):  # fmt: skip
            run_wrk(url, token, duration=3, connections=args.connections, script=lua)  # warm-up, not counted
            result = results[name] = run_wrk(url, token, duration=args.duration, connections=args.connections,
                                             script=lua)  # fmt: skip
            print(
                f"{name}: p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, {result['rps']:.0f} requests/s "
                f"({result['requests']} requests in {args.duration} s, {result['errors']} not 2xx)"
            )
        os.unlink(script.name)
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary = "; ".join(
        f"{name} p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['rps']:.0f} req/s" for name, r in results.items()
    )
    failures = sum(result["errors"] for result in results.values())
    print(
        f"API load (gunicorn {args.workers} workers, wrk {args.connections} connections, {args.duration} s each): "
        f"{summary}" + (f"; {failures} answers were not 2xx" if failures else "")
    )


if __name__ == "__main__":
    main()
