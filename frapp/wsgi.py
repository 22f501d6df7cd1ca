import os

from django.core.wsgi import get_wsgi_application

from frapp.memory import tune_malloc

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frapp.settings")
# Before the worker starts its threads: each would otherwise get a malloc arena of its own.
tune_malloc()
application = get_wsgi_application()
