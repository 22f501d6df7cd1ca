"""Numbers the app shows, in the active language's format (Babel, CLDR data)."""

from babel.numbers import format_decimal
from django import template
from django.utils.translation import get_language, to_locale

register = template.Library()


def _locale() -> str:
    return to_locale(get_language() or "en")


@register.filter
def weight(grams) -> str:
    """``850`` → ``850 g``; ``1250`` → ``1.25 kg`` (English) or ``1,25 kg`` (German)."""
    try:
        grams = int(grams)
    except (TypeError, ValueError):
        return ""
    if abs(grams) < 1000:
        return f"{format_decimal(grams, locale=_locale())}\N{NO-BREAK SPACE}g"
    return f"{format_decimal(grams / 1000, format='#,##0.##', locale=_locale())}\N{NO-BREAK SPACE}kg"


@register.filter
def number(value) -> str:
    """A count or amount with the language's digit grouping (``12,345`` / ``12.345``)."""
    try:
        return format_decimal(value, locale=_locale())
    except (TypeError, ValueError, ArithmeticError):
        return str(value)
