"""Django settings for the sandbox: no database, no sessions, no auth.

The platform fake keeps its state in ``sandbox.state`` (memory); its own knobs are
the SANDBOX_* environment variables read there, not Django settings.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

# A fixed key is fine: nothing the sandbox signs with Django's key leaves this machine.
SECRET_KEY = os.environ.get("SANDBOX_DJANGO_SECRET_KEY", "sandbox-only-not-a-secret")
DEBUG = os.environ.get("SANDBOX_DEBUG", "") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = ["sandbox"]  # for the templates directory only; no models
MIDDLEWARE: list[str] = []  # no sessions/CSRF: a local fake; control and shell forms are csrf_exempt
ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"

DATABASES: dict = {}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
# Bulk listings (10,000 orders) are big; the request side stays small.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # 4xx are the sandbox doing its job; only log real errors.
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False}},
}
