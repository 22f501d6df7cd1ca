"""The one tracking-number rule set, shared by every path that takes one (form, scan, bulk, CSV)."""

import unicodedata

from django.utils.translation import gettext

from frapp.errors import AppError

MAX_TRACKING_LENGTH = 64  # docs/flickrocket.md, Fulfillments; counted on the normalised "a, b" text


def normalize_tracking(raw: str) -> str:
    """The one tracking-number rule set, for every path (form, scan, bulk, CSV).

    Split on commas, trim, refuse empty entries and duplicates, join as ``a, b``; the joined
    text is what FlickRocket stores, so the 64-character limit applies to it.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    problem = tracking_character_problem(text)
    if problem:
        raise _tracking_error(problem)
    numbers = [part.strip() for part in text.split(",")]
    if any(not number for number in numbers):
        raise _tracking_error("A tracking number is empty: remove the extra comma.")
    seen: set[str] = set()
    for number in numbers:
        if number.casefold() in seen:
            raise _tracking_error(f"“{number}” is listed twice.")
        seen.add(number.casefold())
    if any(any(ch.isspace() for ch in number) for number in numbers):
        raise _tracking_error("A tracking number contains a space: separate numbers with commas.")
    joined = ", ".join(numbers)
    if len(joined) > MAX_TRACKING_LENGTH:
        raise _tracking_error(
            f"Too long: {len(joined)} characters as FlickRocket counts them (“a, b”), "
            f"at most {MAX_TRACKING_LENGTH}."
        )
    return joined


# Tab and line breaks are left to the "contains a space" rule, whose advice (use commas) fits.
_ALLOWED_CONTROLS = frozenset("\t\n\r")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def tracking_character_problem(text: str) -> str:
    """The owner's message if ``text`` holds a NUL, control or invisible character, else "".

    Pasted numbers carry zero-width spaces, BOMs and bidi overrides the owner cannot see;
    FlickRocket would store them and carriers would not find the parcel. The forms, the scan
    box, bulk ship and the CSV import all ask this one function, so each says the same.
    """
    for ch in text:
        if _refused(ch):
            return gettext(
                "A tracking number contains an invisible or control character (%(character)s): "
                "type it in again instead of pasting it."
            ) % {"character": f"U+{ord(ch):04X}"}
    return ""


def visible_text(text: str) -> str:
    """``text`` with every character the tracking rule refuses shown as ⟨U+XXXX⟩, for pages
    and the database (PostgreSQL refuses NUL in text)."""
    return "".join(f"⟨U+{ord(ch):04X}⟩" if _refused(ch) else ch for ch in text)


def _refused(ch: str) -> bool:
    return ch not in _ALLOWED_CONTROLS and unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def _tracking_error(message: str) -> AppError:
    return AppError(message, field_errors={"tracking_number": [message]})
