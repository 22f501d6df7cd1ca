"""A stored list held compactly per process: the stored bytes, one raw slice per order and a
small search/sort entry per order; a full order is decoded only for the rows a page shows.

Keeping every decoded order of a 10,000-order shop, and building a row object for each of
them on every view, cost most of a web process's memory and grew a view's time with the
shop's size; filtering, sorting and paging on the entries does not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import msgspec

import flickrocket as fr


class Entry(msgspec.Struct, frozen=True, gc=False, array_like=True):
    """What search, filters and sorts read of one order (see ``selectors.search``)."""

    pos: int  # the order's slot in its list's raw slices; -1 for an order kept whole
    id: int
    created_at: str
    country_code: str
    country_key: str
    name_key: str
    total_grams: int
    shipping_model: str
    haystack: str


def entry_for(order: fr.Fulfillment, pos: int = -1) -> Entry:
    """The entry search, filters and sorts read; the haystack is what search matches (order id,
    name, city, country, product titles and GTINs)."""
    # One pass over the line items for both the haystack and the weight (``total_grams``):
    # a fresh fetch builds an entry per order, and the separate passes were a third of it.
    address = order.shipping_address
    parts = [str(order.id), address.name, address.city, address.country_name, address.country_code]
    grams = 0
    for item in order.line_items:
        parts += (item.title, item.gtin)
        grams += item.grams * item.quantity
    return Entry(
        pos=pos,
        id=order.id,
        created_at=order.created_at,
        country_code=address.country_code,
        country_key=address.country_name.casefold(),
        name_key=address.name.casefold(),
        total_grams=grams,
        shipping_model=order.shipping_model,
        haystack="\n".join(parts).casefold(),
    )


ENTRY_SORTS: dict[str, Callable[[Entry], object]] = {
    "date": lambda e: (e.created_at, e.id),
    "country": lambda e: (e.country_key, e.id),
    "weight": lambda e: (e.total_grams, e.id),
    "id": lambda e: e.id,
    "name": lambda e: (e.name_key, e.id),
}


def decode_one(raw: msgspec.Raw | bytes) -> fr.Fulfillment:
    try:
        return msgspec.json.decode(raw, type=fr.Fulfillment)
    except msgspec.ValidationError:  # a list stored before bodies were typed Fulfillments
        return fr.Fulfillment.from_api(msgspec.json.decode(raw))


class Compact(msgspec.Struct, gc=False):
    """One stored list: its bytes and raw slices (views into them), entries in list order,
    the countries and shipping models the filters offer, and the open/shipped status by id."""

    body: bytes
    raws: list[msgspec.Raw]
    entries: list[Entry]
    countries: list[tuple[str, str]]
    shipping_models: list[str]
    shipped: frozenset[int]
    # Entries sorted per sort key, filled as views ask: sorting 10,000 entries on every view
    # was most of what still grew with the shop's size.
    sorted_by: dict[str, list[Entry]] = msgspec.field(default_factory=dict)

    def order(self, entry: Entry) -> fr.Fulfillment:
        return decode_one(self.raws[entry.pos])

    def in_order(self, sort: str) -> list[Entry]:
        ordered = self.sorted_by.get(sort)
        if ordered is None:
            ordered = self.sorted_by[sort] = sorted(self.entries, key=ENTRY_SORTS[sort])
        return ordered


def compact(body: bytes, orders: Iterable[fr.Fulfillment] | None = None) -> Compact:
    """``orders`` when the caller has them decoded already (a fresh fetch), else one order at a
    time from ``body``, so the whole list is never decoded at once."""
    raws = msgspec.json.decode(body or b"[]", type=list[msgspec.Raw])
    entries, countries, models, shipped = [], set(), set(), set()
    for pos, order in enumerate(orders if orders is not None else map(decode_one, raws)):
        entries.append(entry_for(order, pos))
        address = order.shipping_address
        countries.add((address.country_code, address.country_name))
        if order.shipping_model:
            models.add(order.shipping_model)
        if order.is_shipped:
            shipped.add(order.id)
    return Compact(
        body=body,
        raws=raws,
        entries=entries,
        countries=sorted(countries, key=lambda pair: pair[1]),
        shipping_models=sorted(models),
        shipped=frozenset(shipped),
    )


class RowSequence(Sequence):
    """Rows of a list as a sequence: building a row (decoding its order) happens only for the
    rows asked for, so the paginator builds a page's rows and no others."""

    def __init__(
        self, entries: list[Entry], build: Callable[[Entry], object], _shared=None, *, whole=None
    ) -> None:
        self.entries = entries
        self.whole = whole  # the Compact when ``entries`` are all of its entries, unchanged
        self._shared = _shared if _shared is not None else {"build": build, "sequences": []}
        self._shared["sequences"].append(self)

    def build(self, entry: Entry):
        return self._shared["build"](entry)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.build(entry) for entry in self.entries[index]]
        return self.build(self.entries[index])

    def derive(self, entries: list[Entry]) -> RowSequence:
        return RowSequence(entries, self._shared["build"], self._shared)

    def release(self) -> None:
        """Once the page is rendered: a template context can live on in a reference cycle
        until the next full collection, and must not keep a whole stored list alive with it
        (each fresh fetch then added a list's worth to the process)."""
        for sequence in self._shared.pop("sequences", []):
            sequence.entries, sequence.whole = [], None
        self._shared["build"] = None


# One compact list per cache row and revision (a newer fetch replaces the older one at once),
# a few cache rows at most.
_LIMIT = 4
_held: OrderedDict[int, tuple[tuple, Compact]] = OrderedDict()
_lock = threading.Lock()


def remember(key: int, revision: tuple, value: Compact) -> None:
    with _lock:
        _held[key] = (revision, value)
        _held.move_to_end(key)
        while len(_held) > _LIMIT:
            _held.popitem(last=False)


def held(key: int, revision: tuple) -> Compact | None:
    with _lock:
        hit = _held.get(key)
    return hit[1] if hit is not None and hit[0] == revision else None


def forget(key: int) -> None:
    """Before a fresh fetch: the old list is not kept alive beside the new one."""
    with _lock:
        _held.pop(key, None)
