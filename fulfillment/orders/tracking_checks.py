"""Carrier recognition (``carriers.py``) applied to orders: what each path shows next to a number.

Every path that takes a tracking number (list row, order page, scan, bulk, CSV preview) asks
these functions, so each shows the same carrier, link and warnings. Warnings never block: the
change is queued first and the owner may know better. Each number is recognised once per call;
``Row.tracking_entries`` keeps the result for the rest of the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from django.utils.translation import gettext as _

import flickrocket as fr

from .carriers import NumberCheck, check_tracking_numbers


@dataclass(frozen=True, slots=True)
class TrackingEntry:
    number: str
    url: str  # FlickRocket's tracking URL when it gives a usable one, else the carrier's, else ""
    carrier_name: str  # "" when no carrier is recognised
    warnings: tuple[str, ...] = ()  # translated in the language active when built


def check_order_tracking(order: fr.Fulfillment, tracking: str) -> list[NumberCheck]:
    """``carriers.check_number`` for each number of ``tracking`` against this order."""
    return check_tracking_numbers(
        tracking,
        order_id=order.id,
        gtins=[item.gtin for item in order.line_items if item.gtin],
        shipping_model=order.shipping_model,
    )


def tracking_warnings(order: fr.Fulfillment | None, tracking: str) -> list[str]:
    """What may be wrong with ``tracking`` for this order, in the owner's words; [] when nothing."""
    if order is None or not tracking:
        return []
    return [w.message for check in check_order_tracking(order, tracking) for w in check.warnings]


def tracking_entries(order: fr.Fulfillment, tracking: str) -> list[TrackingEntry]:
    """One entry per number of ``tracking``: its link, its carrier and its warnings."""
    template = order.tracking_url.strip()
    # Only http(s) URLs become links: FlickRocket's URL is shop data, not ours.
    usable = template.lower().startswith(("https://", "http://"))
    entries = []
    for check in check_order_tracking(order, tracking):
        recognition = check.recognition
        if usable:
            url = template.replace("{tracking}", quote(check.number, safe=""))
        else:
            url = recognition.tracking_url if recognition else ""
        entries.append(
            TrackingEntry(
                number=check.number,
                url=url,
                carrier_name=recognition.carrier_name if recognition else "",
                warnings=tuple(w.message for w in check.warnings),
            )
        )
    return entries


def queued_warnings(updates: Iterable, orders: dict[int, fr.Fulfillment]) -> list[str]:
    """One "Order 123: …" note per warning about the tracking numbers of queued changes (bulk)."""
    notes = []
    for update in updates:
        for warning in tracking_warnings(orders.get(update.order_id), update.tracking_number or ""):
            notes.append(_("Order %(order)s: %(warning)s") % {"order": update.order_id, "warning": warning})
    return notes
