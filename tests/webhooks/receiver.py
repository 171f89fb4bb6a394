"""A real HTTP receiver on loopback for webhook tests: records every call, answers as told."""

import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # concurrency tests connect many at once; the default backlog is 5


@dataclass(frozen=True)
class ReceivedCall:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """`answer(500, 500, 200)` queues answers; after them every call gets `default_status`.
    `delay` seconds are waited before answering (a slow receiver); between `hold()` and `release()`
    calls are received but not answered (a receiver that hangs for as long as the test wants)."""

    def __init__(self) -> None:
        self.calls: list[ReceivedCall] = []
        self.default_status = 200
        self.delay = 0.0
        self._answers: deque[int] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._released.set()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        # A short poll interval: shutdown() waits up to one interval, after every test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self._answers.extend(statuses)

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def _next_status(self) -> int:
        with self._lock:
            return self._answers.popleft() if self._answers else self.default_status

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.calls.append(ReceivedCall(self.path, dict(self.headers.items()), body))
                status = receiver._next_status()
                receiver._released.wait(timeout=60)
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.send_header("Connection", "close")
                    self.end_headers()
                except OSError:
                    pass  # the caller gave up waiting (a timeout test)

            def log_message(self, *args) -> None:
                pass

        return Handler

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
