"""Settings for FlickRocket Fulfillment, read from the environment (and an optional .env).

APP_ENV=production turns on every production guard: secrets must be set, DEBUG must be off.
Anything else is development, where the demo runs with no variable set at all.
"""

import base64
import hashlib
import os
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

APP_ENV = env.str("APP_ENV", default="development")
PRODUCTION = APP_ENV == "production"

DEV_SECRET_KEY = "dev-only-not-secret-flickrocket-fulfillment"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "testserver"]
)
APP_BASE_URL = env.str("APP_BASE_URL", default="http://localhost:8000").rstrip("/")

# FlickRocket: docs/flickrocket.md, REST conventions. Defaults follow the platform docs; the platform's own
# plugin uses https://oauth.flickrocket.com (auth) and https://api.flickrocket.com (REST).
FLICKROCKET_CLIENT_ID = env.str("FLICKROCKET_CLIENT_ID", default="" if PRODUCTION else "fr-fulfillment")
FLICKROCKET_CLIENT_SECRET = env.str(
    "FLICKROCKET_CLIENT_SECRET", default="" if PRODUCTION else "sandbox-app-secret"
)
FLICKROCKET_AUTH_BASE = env.str("FLICKROCKET_AUTH_BASE", default="https://admin.flickrocket.com").rstrip("/")
FLICKROCKET_API_BASE = env.str("FLICKROCKET_API_BASE", default="https://admin.flickrocket.com").rstrip("/")
FLICKROCKET_ADMIN_ORIGIN = env.str(
    "FLICKROCKET_ADMIN_ORIGIN", default="https://admin.flickrocket.com"
).rstrip("/")
# Where "back to the app inside FlickRocket" goes after an install; {company_id} is filled in.
FLICKROCKET_APP_ADMIN_URL = env.str("FLICKROCKET_APP_ADMIN_URL", default=FLICKROCKET_ADMIN_ORIGIN + "/")
FLICKROCKET_SCOPES = env.list("FLICKROCKET_SCOPES", default=["orders", "products", "webhooks"])
FLICKROCKET_WEBHOOKS_PATH = env.str("FLICKROCKET_WEBHOOKS_PATH", default="/admin/webhooks")
FLICKROCKET_CONNECT_TIMEOUT = env.float("FLICKROCKET_CONNECT_TIMEOUT", default=3.05)
FLICKROCKET_READ_TIMEOUT = env.float("FLICKROCKET_READ_TIMEOUT", default=15.0)
# Page views wait less: a slow platform shows the last list we fetched instead.
FLICKROCKET_PAGE_READ_TIMEOUT = env.float("FLICKROCKET_PAGE_READ_TIMEOUT", default=4.0)
# Refresh the access token when less than this many seconds remain (the plugin uses 300).
FLICKROCKET_TOKEN_REFRESH_MARGIN = env.int("FLICKROCKET_TOKEN_REFRESH_MARGIN", default=300)

# Fernet keys, newest first; older keys still decrypt so they can be rotated out.
_dev_fernet = base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[] if PRODUCTION else [_dev_fernet])

# Fulfillment outbox (fulfillment/outbox/) and order lists (fulfillment/orders/).
FULFILLMENT_LIST_FRESH_SECONDS = env.float("FULFILLMENT_LIST_FRESH_SECONDS", default=20)
FULFILLMENT_OUTBOX_LEASE_SECONDS = env.float("FULFILLMENT_OUTBOX_LEASE_SECONDS", default=120)
FULFILLMENT_OUTBOX_BATCH = env.int("FULFILLMENT_OUTBOX_BATCH", default=25)
FULFILLMENT_OUTBOX_BACKOFF_BASE = env.float("FULFILLMENT_OUTBOX_BACKOFF_BASE", default=5.0)
FULFILLMENT_OUTBOX_MAX_PACE_WAIT = env.float("FULFILLMENT_OUTBOX_MAX_PACE_WAIT", default=2.0)
# The platform does not publish its leak rate; the call-limit header corrects this guess.
FULFILLMENT_ASSUMED_LEAK_RATE = env.float("FULFILLMENT_ASSUMED_LEAK_RATE", default=2.0)
FULFILLMENT_STUCK_SECONDS = env.int("FULFILLMENT_STUCK_SECONDS", default=300)
PRICE_CACHE_SECONDS = env.int("PRICE_CACHE_SECONDS", default=120)
# Rendered pages each web process keeps (frapp/pagecache.py); 0 switches the page cache off.
PAGE_CACHE_BYTES = env.int("PAGE_CACHE_BYTES", default=8 * 1024 * 1024)

APP_SESSION_IDLE_SECONDS = env.int("APP_SESSION_IDLE_SECONDS", default=30 * 60)
# A launch URL carries no time the platform signed, so a session also ends this long after the
# launch that opened it, however busy it has been.
APP_SESSION_MAX_AGE_SECONDS = env.int("APP_SESSION_MAX_AGE_SECONDS", default=12 * 60 * 60)
OAUTH_STATE_MAX_AGE = env.int("OAUTH_STATE_MAX_AGE", default=10 * 60)
# An App Store install nothing could tie to its shop waits this long for the owner's confirm click.
OAUTH_PENDING_GRANT_MAX_AGE = env.int("OAUTH_PENDING_GRANT_MAX_AGE", default=24 * 60 * 60)
# Anyone can start an install (/oauth/authorize, the Install button): at most this many flows a
# minute in total and from one client address (REMOTE_ADDR), counted through the database.
# Behind a proxy that does not pass the client's address on as REMOTE_ADDR, every client shares
# the proxy's: raise the per-address figure to the total there.
OAUTH_FLOWS_PER_MINUTE = env.int("OAUTH_FLOWS_PER_MINUTE", default=120)
OAUTH_FLOWS_PER_MINUTE_PER_IP = env.int("OAUTH_FLOWS_PER_MINUTE_PER_IP", default=20)
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=64 * 1024)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
# After a launch, the app checks its own hooks (and repairs them) at most once per this many seconds.
WEBHOOK_HEALTH_CHECK_INTERVAL = env.int("WEBHOOK_HEALTH_CHECK_INTERVAL", default=600)

if PRODUCTION:
    missing = [
        name
        for name, value in [
            ("SECRET_KEY", SECRET_KEY),
            ("ALLOWED_HOSTS", ALLOWED_HOSTS),
            ("FLICKROCKET_CLIENT_ID", FLICKROCKET_CLIENT_ID),
            ("FLICKROCKET_CLIENT_SECRET", FLICKROCKET_CLIENT_SECRET),
            ("TOKEN_ENCRYPTION_KEYS", TOKEN_ENCRYPTION_KEYS),
        ]
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(f"APP_ENV=production needs these variables set: {', '.join(missing)}")
    if DEBUG:
        raise ImproperlyConfigured("APP_ENV=production refuses to start with DEBUG on.")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be a long random value in production.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",
    "django_tasks_db",
    "frapp",
    "oauth",
    "fulfillment.orders",
    "fulfillment.outbox",
    "fulfillment.imports",
    "fulfillment.prices",
    "fulfillment.webhooks",
    "fulfillment.packing",
]

MIDDLEWARE = [
    "frapp.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "frapp.middleware.EmbeddedSessionMiddleware",
    # After the session: a language the user chose in the app (kept in the embedded session)
    # wins over the browser's Accept-Language; a cookie would not survive in the iframe.
    "frapp.middleware.AppLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "frapp.middleware.AppCsrfViewMiddleware",
    # Django's two, stepping aside for machine requests (frapp.middleware.MACHINE_PATHS).
    "frapp.middleware.AppAuthenticationMiddleware",
    "frapp.middleware.AppMessageMiddleware",
    # request.htmx: which requests htmx made, and for which target.
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "frapp.urls"
# Forms render Bootstrap markup through Django's form rendering, with templates/forms/field.html.
FORM_RENDERER = "frapp.forms.BootstrapFormRenderer"
WSGI_APPLICATION = "frapp.wsgi.application"

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
                "django.template.context_processors.csp",
                "frapp.context_processors.embedded",
                "frapp.context_processors.nav",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web process and the worker write side by side.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Opening a SQLite connection runs those PRAGMAs and registers Django's SQL functions, about
    # a millisecond: closed after every request, that was most of a webhook delivery's cost.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # A file, not memory, so tests can run real worker and server processes against it.
    # One file per test run (pid), so two runs in one checkout never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"frapp-test-{os.getpid()}.sqlite3")
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# The embedded session travels in the URL path (see frapp/middleware.py); the CSRF secret lives
# in that session (frapp.middleware.AppCsrfViewMiddleware), so neither needs a third-party cookie
# inside the FlickRocket iframe. Outside it (the staff admin) the CSRF secret is a first-party
# cookie, so an anonymous login page stores no session.
SESSION_ENGINE = "frapp.sessions"
CSRF_USE_SESSIONS = False
CSRF_COOKIE_HTTPONLY = True
# Django's deploy check looks for its own CsrfViewMiddleware by name; ours is a subclass of it.
SILENCED_SYSTEM_CHECKS = ["security.W003"]
# Flash messages too: the default tries a cookie first, which the iframe would lose.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
# Pages meant for the FlickRocket iframe get frame-ancestors FLICKROCKET_ADMIN_ORIGIN instead
# (frapp/middleware.py).
X_FRAME_OPTIONS = "DENY"
# The DEBUG 500 page and error mails list the path and headers, which carry the session key.
DEFAULT_EXCEPTION_REPORTER = "frapp.debug.RedactingExceptionReporter"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

if PRODUCTION:
    _proxy = env.list("SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"])
    SECURE_PROXY_SSL_HEADER = tuple(_proxy) if _proxy else None
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[APP_BASE_URL])

LANGUAGE_CODE = "en"
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English keeps the app's unambiguous ISO dates (2026-03-01 14:05); German uses Django's own.
FORMAT_MODULE_PATH = ["frapp.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=PRODUCTION)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not env.bool("STATIC_MANIFEST", default=PRODUCTION)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "frapp.logging.RequestIdFilter"},
        "redact": {"()": "frapp.logging.RedactFilter"},
    },
    "formatters": {
        "json": {"()": "frapp.logging.JsonFormatter"},
        "plain": {
            "()": "frapp.logging.PlainFormatter",
            "fmt": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "redact"],
            "formatter": env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain"),
        }
    },
    "root": {"handlers": ["console"], "filters": ["redact"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Filters on a logger change the record before any handler sees it, including handlers that
    # do not use ours (frapp/apps.py installs them again whatever this says).
    "loggers": {
        "django": {"filters": ["redact"]},
        "django.request": {"filters": ["redact"]},
        "django.security.csrf": {"filters": ["redact"]},
        # Django's default LOGGING, applied first, stops runserver's lines here; ours format them.
        "django.server": {"level": "WARNING", "filters": ["redact"], "propagate": True},
        "urllib3": {"level": "WARNING"},
    },
}
