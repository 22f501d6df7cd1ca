"""Reads for the packing bench: the shop's setting and an order's packing progress (never FlickRocket)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .models import PackingSettings, Verification, VerifiedLine

if TYPE_CHECKING:
    from fulfillment.orders.selectors import Row


def verifies_items(*, company_id: int) -> bool:
    return PackingSettings.objects.filter(company_id=company_id, verify_items=True).exists()


@dataclass
class Progress:
    """An order's packing progress as the bench shows it."""

    verification: Verification
    lines: list[VerifiedLine] = field(default_factory=list)

    @property
    def order_id(self) -> int:
        return self.verification.order_id

    @property
    def expected(self) -> int:
        return sum(line.expected for line in self.lines)

    @property
    def packed(self) -> int:
        return sum(min(line.scanned, line.expected) for line in self.lines)

    @property
    def complete(self) -> bool:
        return all(line.complete for line in self.lines)

    @property
    def missing(self) -> int:
        return self.expected - self.packed


def progress(*, company_id: int, order_id: int) -> Progress | None:
    verification = Verification.objects.filter(company_id=company_id, order_id=order_id).first()
    if verification is None:
        return None
    return Progress(verification, list(verification.lines.all()))


@dataclass
class PickItem:
    product_id: str
    title: str
    version: str
    gtin: str
    quantity: int
    grams: int
    orders: list[int]


def pick_items(rows: list[Row]) -> list[PickItem]:
    """Items summed across the selection, for picking shelves in one walk."""
    items: dict[tuple[str, str], PickItem] = {}
    for row in rows:
        for line in row.order.line_items:
            key = (line.product_id or str(line.id), line.version)
            item = items.get(key)
            if item is None:
                item = items[key] = PickItem(
                    product_id=line.product_id,
                    title=line.title,
                    version=line.version,
                    gtin=line.gtin,
                    quantity=0,
                    grams=line.grams,
                    orders=[],
                )
            item.quantity += line.quantity
            if row.order.id not in item.orders:
                item.orders.append(row.order.id)
    return sorted(items.values(), key=lambda item: (item.title.casefold(), item.version))
