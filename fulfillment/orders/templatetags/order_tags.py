import functools

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.formats import date_format

from frapp.dates import platform_time

from ..forms import new_form_key

register = template.Library()


@register.simple_tag(takes_context=True)
def form_key(context) -> str:
    """A fresh idempotency key for one rendered form (a slot filled per request when the row's
    HTML is kept, see ``fulfillment.orders.rowcache``)."""
    return context.get("form_key_slot") or new_form_key()


@register.filter
def order_date(value: str) -> str:
    """FlickRocket's "2016-04-07T16:16:17" in the active language: "2016-04-07 16:16", "07.04.2016 16:16"."""
    when = platform_time(value) if value else None
    if when is None:
        return f"{value[:10]} {value[11:16]}".strip() if value else ""
    return date_format(when, "SHORT_DATETIME_FORMAT")


# Never an order id: it marks where the id goes in a reversed URL.
_ID_SLOT = 987654321098


@functools.lru_cache(maxsize=1024)
def _url_pattern(name: str, script_prefix: str) -> str:
    # reverse() builds on the script prefix (the embedded session's /s/<key>/), so it is part
    # of the key even though the URL is built from it implicitly.
    url = reverse(name, args=[_ID_SLOT]).replace("{", "{{").replace("}", "}}")
    return url.replace(f"/{_ID_SLOT}/", "/{}/")


@register.filter
def order_url(order_id: int, name: str) -> str:
    """``{% url name order_id %}`` for a list row: reversed once per session, then the id is
    formatted in. A 50-row page reversed three URLs per row, a tenth of its own time."""
    return _url_pattern(name, get_script_prefix()).format(int(order_id))
