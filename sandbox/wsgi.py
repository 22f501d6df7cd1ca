"""WSGI entry point. Serve with ONE worker process: all state lives in its memory.

    DJANGO_SETTINGS_MODULE=sandbox.settings .venv/bin/gunicorn sandbox.wsgi \\
        -b 127.0.0.1:8100 -w 1 -k gthread --threads 32

or simply ``python -m sandbox.serve --port 8100``.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")

application = get_wsgi_application()
