"""German dates as German shop software writes them (01.03.2026 14:05); the activity and
delivery logs keep their seconds."""

from django.conf.locale.de.formats import *  # noqa: F403

DATETIME_FORMAT = "d.m.Y H:i:s"
TIME_FORMAT = "H:i:s"
