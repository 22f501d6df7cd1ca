"""Which carrier a tracking number belongs to, whether its check digit holds, and what looks wrong.

Pure functions, cheap enough for every row of a CSV preview. Formats come from the
``tracking-numbers`` package plus ``carrier_table.FORMATS``; many are plain runs of digits, so one
number often fits several carriers. ``candidates`` returns them all, best first (check digit
passes, then formats without a check digit, then failures; German carriers before the package's
on ties), and the order's shipping model, when given, narrows them to its carriers.

Warnings never block: the owner may know better. Their messages are translated when shown.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from tracking_numbers import DEFINITIONS

from .carrier_table import (
    CARRIERS,
    FORMATS,
    PACKAGE_COURIERS,
    S10_ALSO,
    S10_OPERATORS,
    SHIPPING_MODEL_ALIASES,
)
from .gtin import gtin_is_valid, normalise_gtin

# The longest format is 34 characters; anything far longer is not worth a regex.
_MAX_NUMBER_LENGTH = 40
# 64 characters of "a, b" hold at most 32 numbers; more parts are not tracking numbers.
MAX_NUMBERS = 32
_SPACE = re.compile(r"\s+")
_ALIASES = sorted(
    (
        (re.compile(rf"(?<!\w){re.escape(alias)}(?!\w)"), carriers)
        for alias, carriers in SHIPPING_MODEL_ALIASES.items()
    ),
    key=lambda item: -len(item[0].pattern),
)


@dataclass(frozen=True, slots=True)
class Recognition:
    number: str  # as matched: upper case, without spaces
    carrier: str  # stable slug, a key of carrier_table.CARRIERS
    carrier_name: str
    product: str  # the format, e.g. "DHL Paket (20)"
    check_digit_ok: bool | None  # None: the format has no check digit
    tracking_url: str  # the carrier's public tracking page for this number, or ""
    also: tuple[str, ...] = ()  # other carriers issuing this format


@dataclass(frozen=True, slots=True)
class TrackingWarning:
    """``code`` for logic and tests; ``message`` is translated in the language active when read."""

    code: str  # "check_digit", "order_number", "gtin", "carrier_mismatch"
    template: Promise | str  # a lazy translation with %(name)s placeholders
    params: dict = field(default_factory=dict)

    @property
    def message(self) -> str:
        return str(self.template) % self.params

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class NumberCheck:
    number: str  # as the owner typed it, trimmed
    recognition: Recognition | None
    warnings: list[TrackingWarning]


def normalise_number(raw: object) -> str:
    """Upper case without whitespace: carriers print numbers in groups, scanners add newlines."""
    return _SPACE.sub("", str(raw or "")).upper()


def carriers_for_shipping_model(shipping_model: str) -> tuple[str, ...]:
    """The carriers a shipping model name stands for; () when the name names none we know."""
    name = " ".join(str(shipping_model or "").casefold().split())
    for pattern, carriers in _ALIASES:
        if pattern.search(name):
            return carriers
    return ()


def candidates(number: str) -> list[Recognition]:
    """Every format the number fits, best first."""
    text = normalise_number(number)
    if not 4 <= len(text) <= _MAX_NUMBER_LENGTH:
        return []
    found: list[tuple[int, int, Recognition]] = []
    for priority, fmt in enumerate(FORMATS):
        match = fmt.pattern.fullmatch(text)
        if match:
            ok = fmt.check(match) if fmt.check else None
            parcel = match.groupdict().get("parcel") or text
            recognition = _recognition(text, fmt.carrier, fmt.product, ok, parcel, fmt.also)
            found.append((_rank(ok), priority, recognition))
    for priority, definition in enumerate(DEFINITIONS, start=len(FORMATS)):
        recognition = _from_package(definition, text)
        if recognition:
            found.append((_rank(recognition.check_digit_ok), priority, recognition))
    found.sort(key=lambda item: item[:2])
    return [item[2] for item in found]


def recognise(number: str, *, shipping_model: str = "") -> Recognition | None:
    """The carrier of ``number``; among formats of the shipping model's carriers when it fits one."""
    considered = _considered(candidates(number), carriers_for_shipping_model(shipping_model))
    return considered[0] if considered else None


def tracking_url(number: str, *, shipping_model: str = "") -> str:
    """The public tracking page for ``number``, "" when no carrier is recognised or has one."""
    recognition = recognise(number, shipping_model=shipping_model)
    return recognition.tracking_url if recognition else ""


def warnings_for(
    number: str,
    *,
    order_id: int | str | None = None,
    gtins: Iterable[str] = (),
    shipping_model: str = "",
) -> list[TrackingWarning]:
    """What may be wrong with one tracking number for this order; [] when nothing is."""
    return check_number(number, order_id=order_id, gtins=gtins, shipping_model=shipping_model).warnings


def check_number(
    number: str,
    *,
    order_id: int | str | None = None,
    gtins: Iterable[str] = (),
    shipping_model: str = "",
) -> NumberCheck:
    """``recognise`` and ``warnings_for`` of one number in one pass."""
    typed = str(number or "").strip()
    text = normalise_number(typed)
    if not text or len(text) > _MAX_NUMBER_LENGTH:
        return NumberCheck(typed, None, [])
    shown = {"number": text}
    warnings: list[TrackingWarning] = []
    if _looks_like_order_id(text, order_id):
        warnings.append(
            TrackingWarning(
                "order_number", _("%(number)s looks like the order number, not a tracking number."), shown
            )
        )

    expected = carriers_for_shipping_model(shipping_model)
    considered = _considered(candidates(text), expected)
    recognition = considered[0] if considered else None
    order_gtins = {normalise_gtin(g) for g in gtins or () if g} - {""}
    if normalise_gtin(text) in order_gtins:
        warnings.append(
            TrackingWarning(
                "gtin", _("%(number)s is the barcode of an item in this order, not a tracking number."), shown
            )
        )
    elif gtin_is_valid(text) and not (recognition and recognition.check_digit_ok):
        warnings.append(
            TrackingWarning(
                "gtin", _("%(number)s looks like a product barcode (GTIN), not a tracking number."), shown
            )
        )
    if recognition is None:
        return NumberCheck(typed, None, warnings)

    if recognition.check_digit_ok is False:
        # Every format it fits fails its check (formats without one would rank first).
        failing = dict.fromkeys(r.carrier_name for r in considered)
        warnings.append(
            TrackingWarning(
                "check_digit",
                _(
                    "%(number)s looks like a %(carrier)s number, but its check digit is wrong: "
                    "a character may be mistyped or misread."
                ),
                {**shown, "carrier": " / ".join(failing)},
            )
        )
    elif expected and not _issued_by(recognition, expected):
        warnings.append(
            TrackingWarning(
                "carrier_mismatch",
                _(
                    "%(number)s looks like a %(carrier)s number, but the order ships with "
                    "“%(shipping_model)s”."
                ),
                {**shown, "carrier": recognition.carrier_name, "shipping_model": shipping_model.strip()},
            )
        )
    return NumberCheck(typed, recognition, warnings)


def split_tracking_numbers(text: str) -> list[str]:
    """The numbers in a FlickRocket tracking text ("a, b"), trimmed, empty parts dropped."""
    parts = [part.strip() for part in str(text or "").split(",", MAX_NUMBERS)[:MAX_NUMBERS]]
    return [part for part in parts if part]


def check_tracking_numbers(
    text: str,
    *,
    order_id: int | str | None = None,
    gtins: Iterable[str] = (),
    shipping_model: str = "",
) -> list[NumberCheck]:
    """``check_number`` for each number of a comma-separated tracking text."""
    gtins = tuple(gtins or ())
    return [
        check_number(number, order_id=order_id, gtins=gtins, shipping_model=shipping_model)
        for number in split_tracking_numbers(text)
    ]


# --- Internals -------------------------------------------------------------------------------


def _rank(check_digit_ok: bool | None) -> int:
    return {True: 0, None: 1, False: 2}[check_digit_ok]


def _considered(found: list[Recognition], expected: tuple[str, ...]) -> list[Recognition]:
    """The formats of the expected carriers when the number fits one, else all it fits."""
    fitting = [r for r in found if _issued_by(r, expected)]
    return fitting or found


def _issued_by(recognition: Recognition, carriers: tuple[str, ...]) -> bool:
    return recognition.carrier in carriers or any(c in carriers for c in recognition.also)


def _recognition(
    text: str, slug: str, product: str, ok: bool | None, parcel: str, also: tuple[str, ...] = ()
) -> Recognition:
    carrier = CARRIERS[slug]
    url = carrier.url.replace("{number}", quote(parcel, safe="")) if carrier.url else ""
    return Recognition(text, slug, carrier.name, product, ok, url, also)


def _from_package(definition, text: str) -> Recognition | None:
    match = definition.number_regex.fullmatch(text)
    if not match:
        return None
    try:
        result = definition.test(text)
        errors = result.validation_errors if result else [("format", "")]
    except ValueError:  # the package's UPS check reads a letter check character with int()
        errors = [("checksum", "not a digit")]
    if any(name != "checksum" for name, _message in errors):
        return None  # service type or country code unknown: not this format
    ok = None if definition.checksum_validator is None else not errors
    slug = PACKAGE_COURIERS.get(definition.courier.code)
    also: tuple[str, ...] = ()
    if definition.courier.code == "s10":
        country = match.group("CountryCode")
        slug = S10_OPERATORS.get(country, "upu_s10")
        also = S10_ALSO.get(country, ())
    if slug is None:
        return None
    return _recognition(text, slug, definition.product.name, ok, text, also)


def _looks_like_order_id(text: str, order_id: int | str | None) -> bool:
    """The order number as typed, zero-padded, or behind a short prefix such as "#" or "FR-"."""
    wanted = str(order_id if order_id is not None else "").strip().lstrip("#").upper()
    if not wanted or wanted.strip("0") == "":
        return False
    if text == wanted:
        return True
    if not (wanted.isascii() and wanted.isdigit()):
        return False
    digits = re.search(r"[0-9]+$", text)
    if not digits:
        return False
    prefix = text[: digits.start()]
    return (
        digits.group().lstrip("0") == wanted.lstrip("0")
        and len(prefix) <= 6
        and not any(ch.isdigit() for ch in prefix)
    )
