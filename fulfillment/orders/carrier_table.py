"""Carriers, and the tracking-number formats the ``tracking-numbers`` package does not know.

The package (the public tracking_number_data definitions) covers UPS, FedEx, USPS, DHL Express
and UPU S10; it knows none of the German parcel carriers a FlickRocket shop mostly ships with.
``FORMATS`` adds them, one row per format: a regex over the normalised number (upper case, no
spaces) and the check-digit algorithm, or ``None`` where the format has no check digit (or none
that is published). Sources for the algorithms are named per row; every row has a test built from
a published example number.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from stdnum import ean
from stdnum.iso7064 import mod_37_36


@dataclass(frozen=True, slots=True)
class Carrier:
    slug: str
    name: str
    url: str  # the public tracking page, "{number}" is replaced; "" where there is none


@dataclass(frozen=True, slots=True)
class Format:
    carrier: str
    product: str
    pattern: re.Pattern[str]
    check: Callable[[re.Match[str]], bool] | None
    # Other carriers that hand out numbers of this format, so a shipping model naming one of them
    # is no mismatch.
    also: tuple[str, ...] = ()


CARRIERS = {
    c.slug: c
    for c in (
        Carrier(
            "dhl_paket",
            "DHL Paket",
            "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={number}",
        ),
        Carrier(
            "dhl_express",
            "DHL Express",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}",
        ),
        Carrier(
            "deutsche_post",
            "Deutsche Post",
            "https://www.deutschepost.de/de/s/sendungsverfolgung/verfolgen.html?piececode={number}",
        ),
        Carrier("dpd", "DPD", "https://tracking.dpd.de/status/de_DE/parcel/{number}"),
        Carrier("gls", "GLS", "https://gls-group.com/DE/de/paketverfolgung?match={number}"),
        Carrier(
            "hermes",
            "Hermes",
            "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation#{number}",
        ),
        Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={number}"),
        Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={number}"),
        Carrier("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
        Carrier("postnl", "PostNL", "https://postnl.nl/tracktrace/?B={number}"),
        Carrier(
            "royal_mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{number}"
        ),
        # S10 numbers of other countries are tracked by the destination's post: no one page.
        Carrier("upu_s10", "International post (UPU S10)", ""),
        Carrier("amazon", "Amazon Logistics", ""),
        Carrier("ontrac", "OnTrac", "https://www.ontrac.com/tracking/?number={number}"),
        Carrier("cdl", "CDL", ""),
    )
}

# The package's courier codes; S10 numbers go to the post of the country in their last two letters.
PACKAGE_COURIERS = {
    "dhl": "dhl_express",
    "ups": "ups",
    "fedex": "fedex",
    "usps": "usps",
    "amazon": "amazon",
    "ontrac": "ontrac",
    "cdl": "cdl",
}
S10_OPERATORS = {"DE": "deutsche_post", "GB": "royal_mail", "NL": "postnl", "US": "usps"}
# Deutsche Post's S10 numbers also go on DHL Paket International and Warenpost parcels.
S10_ALSO = {"DE": ("dhl_paket",)}


def _gs1_mod10(match: re.Match[str]) -> bool:
    """GS1 modulo 10 (weights 3, 1 from the right): SSCC/NVE and Hermes numbers."""
    number = match.group(0)
    return ean.calc_check_digit(number[:-1]) == number[-1]


def _weighted_mod10(weights: tuple[int, ...], plus: int = 0) -> Callable[[re.Match[str]], bool]:
    def check(match: re.Match[str]) -> bool:
        number = match.group(0)
        total = sum(int(d) * weights[i % len(weights)] for i, d in enumerate(number[:-1])) + plus
        return (10 - total % 10) % 10 == int(number[-1])

    return check


def _dpd_mod37_36(match: re.Match[str]) -> bool:
    """ISO 7064 Mod 37,36 over the digits before the check character (DPD parcel label spec)."""
    return mod_37_36.is_valid(match.group("checked"))


def _digits(n: str) -> str:
    return f"[0-9]{{{n}}}"


FORMATS: tuple[Format, ...] = (
    # DHL Paket: 20-digit NVE (SSCC with AI 00), GS1 check; 12-digit Identcode, weights 4/9.
    Format("dhl_paket", "DHL Paket (20)", re.compile("00" + _digits("18")), _gs1_mod10),
    Format("dhl_paket", "DHL Paket (12)", re.compile(_digits("12")), _weighted_mod10((4, 9))),
    # Piece IDs (JJD…, JVGL…) label DHL Paket International and DHL Express parcels alike.
    Format(
        "dhl_paket", "DHL piece ID", re.compile("J[A-Z]{2,3}" + _digits("9,22")), None, also=("dhl_express",)
    ),
    # DPD: the 14-digit parcel number, the same with its check character, and the 28-character
    # label barcode (zip, parcel number, service, country, check character; "%" starts the scan).
    Format("dpd", "DPD", re.compile(f"(?P<parcel>{_digits('14')})"), None),
    Format(
        "dpd",
        "DPD (check character)",
        re.compile(f"(?P<checked>(?P<parcel>{_digits('14')})[0-9A-Z])"),
        _dpd_mod37_36,
    ),
    Format(
        "dpd",
        "DPD (label barcode)",
        re.compile(f"%?(?P<checked>[0-9A-Z]{{7}}(?P<parcel>{_digits('14')}){_digits('6')}[0-9A-Z])"),
        _dpd_mod37_36,
    ),
    # Hermes: 14 digits with a GS1 check digit; the 16-digit numbers carry no published one.
    Format("hermes", "Hermes (14)", re.compile(_digits("14")), _gs1_mod10),
    Format("hermes", "Hermes (16)", re.compile(_digits("16")), None),
    # GLS: 11-digit parcel number, or 12 with its check digit (weights 3/1 from the left, plus 1;
    # GLS Uni-Box technical documentation, chapter 3.2.1).
    Format("gls", "GLS (12)", re.compile(_digits("12")), _weighted_mod10((3, 1), plus=1)),
    Format("gls", "GLS (11)", re.compile(_digits("11")), None),
    # PostNL 3S codes: "3S", a four-character customer code, a serial.
    Format("postnl", "PostNL", re.compile("3S[A-Z]{4}" + _digits("6,11")), None),
)

# Shipping model names, as the shop typed them, to the carriers whose numbers fit. Matched
# case-insensitively as whole words, longest first, so "DHL Express …" is not plain "DHL".
SHIPPING_MODEL_ALIASES: dict[str, tuple[str, ...]] = {
    "dhl": ("dhl_paket", "dhl_express", "deutsche_post"),
    "dhl paket": ("dhl_paket", "deutsche_post"),
    "dhl päckchen": ("dhl_paket", "deutsche_post"),
    "dhl kleinpaket": ("dhl_paket", "deutsche_post"),
    "dhl europaket": ("dhl_paket", "deutsche_post"),
    "warenpost": ("dhl_paket", "deutsche_post"),
    "dhl express": ("dhl_express",),
    "deutsche post": ("deutsche_post", "dhl_paket"),
    "einschreiben": ("deutsche_post", "dhl_paket"),
    "büchersendung": ("deutsche_post", "dhl_paket"),
    "dpd": ("dpd",),
    "gls": ("gls",),
    "hermes": ("hermes",),
    "ups": ("ups",),
    "fedex": ("fedex",),
    "usps": ("usps",),
    "postnl": ("postnl",),
    "royal mail": ("royal_mail",),
}
