"""Settings, read from the environment.

DATABASE_URL  database (default: a SQLite file in the project)
REDIS_URL     RQ's Redis; unset means jobs run inline in the same process
SECRET_KEY, DEBUG, ALLOWED_HOSTS
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The fallback key is for development only; `manage.py check --deploy` flags it in production.
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-development-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_rq",
    "oauth2_provider",
    "orders",
    "subscriptions",
    "copies",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of deadlocking.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Jobs (RQ) ---------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
# Without Redis, jobs run in the same process right after the transaction commits.
JOBS_INLINE = not REDIS_URL
COPY_JOB_TIMEOUT = int(os.environ.get("COPY_JOB_TIMEOUT", "300"))
# Copies handed to one job: fewer, larger jobs amortise RQ's per-job cost.
COPY_JOB_BATCH_SIZE = int(os.environ.get("COPY_JOB_BATCH_SIZE", "50"))
# A copy that started this many times and never finished is failed, not retried again.
COPY_MAX_ATTEMPTS = int(os.environ.get("COPY_MAX_ATTEMPTS", "5"))
RQ_QUEUES = {
    "default": {
        "URL": REDIS_URL or "redis://127.0.0.1:6379/0",
        "DEFAULT_TIMEOUT": COPY_JOB_TIMEOUT,
    },
}
RQ = {
    # Jobs are short database transactions: forking a process per job would cost more than the job.
    "WORKER_CLASS": os.environ.get("RQ_WORKER_CLASS", "rq.worker.SimpleWorker"),
}

# --- Webhooks (the `webhooks` app) ----------------------------------------------
# Callback URLs that resolve to private, loopback, link-local or other internal addresses are refused
# unless this is on (tests and local development, where the receiver runs on this machine).
WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("WEBHOOKS_ALLOW_PRIVATE_URLS", False)
# The RQ queue of delivery jobs. "default" works with `rqworker default`; a queue of their own
# (e.g. "webhooks", with its own worker) keeps slow receivers from ever holding up copy jobs.
WEBHOOK_QUEUE = os.environ.get("WEBHOOK_QUEUE", "default")
# Seconds a receiver has to answer 2xx (Commerce Layer: 5).
WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "5"))
# Seconds before each of the 10 retries: 1, 2, 4 ... 512 minutes (about 17 hours in all).
WEBHOOK_RETRY_DELAYS = [
    int(delay) for delay in env_list("WEBHOOK_RETRY_DELAYS", "60,120,240,480,960,1920,3840,7680,15360,30720")
]
# Consecutive failures that open a webhook's circuit (Commerce Layer: 30).
WEBHOOK_CIRCUIT_THRESHOLD = int(os.environ.get("WEBHOOK_CIRCUIT_THRESHOLD", "30"))
# Inline mode (no REDIS_URL): background threads that make the calls, so no request waits for a receiver.
WEBHOOK_INLINE_THREADS = int(os.environ.get("WEBHOOK_INLINE_THREADS", "4"))
# Event callbacks and finished deliveries older than this are purged by the scheduler tick (0: keep all).
WEBHOOK_HISTORY_DAYS = int(os.environ.get("WEBHOOK_HISTORY_DAYS", "30"))
if WEBHOOK_QUEUE not in RQ_QUEUES:
    RQ_QUEUES[WEBHOOK_QUEUE] = {"URL": RQ_QUEUES["default"]["URL"], "DEFAULT_TIMEOUT": 120}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"rq.worker": {"level": os.environ.get("RQ_LOG_LEVEL", "WARNING")}},
}

# --- JSON:API (the `api` app) -------------------------------------------------
# Absolute links in documents built outside a request (webhooks) start with this.
API_BASE_URL = os.environ.get("API_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# The `organization` claim of access tokens; Commerce Layer clients read the slug from it.
API_ORGANIZATION_SLUG = os.environ.get("API_ORGANIZATION_SLUG", "backoffice")
API_ORGANIZATION_ID = os.environ.get("API_ORGANIZATION_ID", "")  # empty: derived from SECRET_KEY
API_TOKEN_ISSUER = os.environ.get("API_TOKEN_ISSUER", API_BASE_URL)
# PEM of the RSA key that signs access tokens (RS512). Empty: one is generated and kept in the database.
API_JWT_PRIVATE_KEY = os.environ.get("API_JWT_PRIVATE_KEY", "")
# Requests per window and token class; see api/ratelimit.py. Disable only for benchmarks.
API_RATE_LIMITS_ENABLED = env_bool("API_RATE_LIMITS_ENABLED", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.conventions.media.JsonApiParser"],
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.CommerceLayerRenderer"],
    "EXCEPTION_HANDLER": "api.conventions.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "URL_FORMAT_OVERRIDE": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "vnd.api+json",
}

OAUTH2_PROVIDER = {
    "SCOPES": {"market:all": "Every market of the organization"},
    "DEFAULT_SCOPES": ["market:all"],
    "OAUTH2_SERVER_CLASS": "api.auth.oauth.ApiOAuthServer",
    "OAUTH2_BACKEND_CLASS": "api.auth.oauth.JsonOrFormOAuthLibCore",
    "OAUTH2_VALIDATOR_CLASS": "api.auth.oauth.ApiOAuth2Validator",
    # Only a checksum of each access token is stored: a database leak yields no usable token.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
}
# django-oauth-toolkit's swappable models, named so migrations can resolve them.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
