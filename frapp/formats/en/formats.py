"""English keeps the unambiguous ISO dates the app has always shown (2026-03-01 14:05); money
and weights go through Babel (fulfillment/prices/money.py, frapp/templatetags/app_l10n.py)."""

from django.conf.locale.en.formats import *  # noqa: F403

DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
