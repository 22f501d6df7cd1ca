"""GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) barcodes: their 14-digit form and their check digit.

Carrier recognition uses them to spot a product barcode typed as a tracking number; the packing
bench uses them to match scanned items.
"""

import re

from stdnum import ean

_GTIN_LENGTHS = frozenset({8, 12, 13, 14})
_GTIN_IGNORED = re.compile(r"[\s-]+")


def normalise_gtin(code: object) -> str:
    """The 14-digit form of an EAN-8, UPC-A, EAN-13 or GTIN-14 (check digit not verified, so a
    misread still compares); "" for anything else, which equals no GTIN in ``same_gtin``."""
    text = _GTIN_IGNORED.sub("", str(code or ""))
    if len(text) not in _GTIN_LENGTHS or not (text.isascii() and text.isdigit()):
        return ""
    return text.zfill(14)


def gtin_is_valid(code: object) -> bool:
    """True for an EAN-8, UPC-A, EAN-13 or GTIN-14 whose check digit holds. A scanned item barcode
    that fails it was misread: scan again, it is not a wrong item."""
    text = normalise_gtin(code)
    return bool(text) and ean.is_valid(text)


def same_gtin(a: object, b: object) -> bool:
    """Whether two codes are the same trade item (UPC-A 036000291452 is EAN-13 0036000291452)."""
    left = normalise_gtin(a)
    return bool(left) and left == normalise_gtin(b)
