"""The one tracking-number rule set, shared by every path that takes one (form, scan, bulk, CSV)."""

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


def _tracking_error(message: str) -> AppError:
    return AppError(message, field_errors={"tracking_number": [message]})
