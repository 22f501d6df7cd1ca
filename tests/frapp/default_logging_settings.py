"""The app's settings with Django's default LOGGING, as someone who drops ours would run it."""

from frapp.settings import *  # noqa: F403

LOGGING = {}
