"""gunicorn settings for serving the back-office: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Environment: GUNICORN_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (default 2 per core).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
# Load Django once in the master: workers start faster and share its pages.
preload_app = True


def when_ready(server) -> None:
    # Everything loaded so far (Django, the URL map, serializer plans) lives as long as the process.
    # Freezing it keeps the garbage collector's full passes from walking it again on every
    # collection, which otherwise shows up as ~40 ms pauses at the API's 99th percentile.
    gc.freeze()
