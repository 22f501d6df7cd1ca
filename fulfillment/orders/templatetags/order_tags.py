from django import template

from ..forms import new_form_key

register = template.Library()


@register.simple_tag
def form_key() -> str:
    """A fresh idempotency key for one rendered form."""
    return new_form_key()


@register.filter
def order_date(value: str) -> str:
    """FlickRocket's "2016-04-07T16:16:17" as "2016-04-07 16:16"."""
    return f"{value[:10]} {value[11:16]}".strip() if value else ""
