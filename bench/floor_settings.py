"""Settings for measuring the fixed cost of an embedded request (``--floor`` in page_cost.py and
profile_page.py): the app's own settings with one more URL, ``/s/<key>/floor/``, which only the
benchmarks load (``DJANGO_SETTINGS_MODULE=bench.floor_settings``), never the app."""

from frapp.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
