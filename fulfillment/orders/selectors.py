"""Reads for the order pages, from what we already hold: the cached lists with our outbox
laid over them, search/filter/sort/paging in our code, selections and the pick list.

Nothing here calls FlickRocket or writes; fetching a list is ``fulfillment.orders.services``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

import msgspec
from django.core.paginator import Page, Paginator
from django.db.models import Count, Min, Q
from django.utils import timezone

import flickrocket as fr
from frapp import pagecache
from frapp.precompiled import PrecompiledSelect
from fulfillment.outbox.models import CompanyOutbox, PendingUpdate
from fulfillment.outbox.selectors import stuck_after

from .listindex import ENTRY_SORTS, RowSequence
from .models import ListCache
from .tracking_checks import TrackingEntry, tracking_entries

State = PendingUpdate.State


PAGE_SIZES = (25, 50, 100, 250)


SORTS = tuple(ENTRY_SORTS)


@dataclass
class Row:
    """One order as the owner should see it: FlickRocket's data with our pending change on top."""

    order: fr.Fulfillment
    update: PendingUpdate | None = None

    @property
    def id(self) -> int:
        return self.order.id

    @property
    def is_shipped(self) -> bool:
        if (
            self.update is not None
            and self.update.status is not None
            and self.update.state
            in (
                State.QUEUED,
                State.SENDING,
                State.ACCEPTED,
            )
        ):
            return self.update.status == fr.Fulfillment.SHIPPED
        return self.order.is_shipped

    @property
    def tracking_number(self) -> str:
        if (
            self.update is not None
            and self.update.tracking_number is not None
            and (self.update.state in (State.QUEUED, State.SENDING, State.ACCEPTED))
        ):
            return self.update.tracking_number
        return self.order.tracking_number

    @property
    def tracking_numbers(self) -> list[str]:
        return [t.strip() for t in self.tracking_number.split(",") if t.strip()]

    @cached_property
    def tracking_entries(self) -> list[TrackingEntry]:
        """Each tracking number with its link, its recognised carrier and its warnings."""
        return tracking_entries(self.order, self.tracking_number)

    @property
    def tracking_links(self) -> list[tuple[str, str]]:
        """(number, URL or "") per tracking number: FlickRocket's tracking URL for the shipping
        model when it gives an http(s) one, else the recognised carrier's tracking page."""
        return [(entry.number, entry.url) for entry in self.tracking_entries]

    @property
    def write_state(self) -> str:
        """ "" when FlickRocket has what we show, else pending / refused / accepted."""
        if self.update is None:
            return ""
        if self.update.state in (State.QUEUED, State.SENDING):
            return "pending"
        return self.update.state


@dataclass
class OrderList:
    kind: str
    rows: RowSequence
    fetched_at: datetime | None
    problem: str = ""  # why the list may be old, in the owner's words
    asked_again_at: float | None = None  # with a problem: when FlickRocket's Retry-After ends
    version: int = 0
    countries: list[tuple[str, str]] = field(default_factory=list)
    shipping_models: list[str] = field(default_factory=list)
    revision: tuple = ()  # the stored list's (id, fetched_at, version): what rendered rows depend on


def list_version(*, company_id: int) -> int:
    outbox = CompanyOutbox.objects.filter(company_id=company_id).only("list_version").first()
    return outbox.list_version if outbox else 0


def cached_order_index(company_id: int) -> dict[int, dict]:
    """Every order we hold for the company as FlickRocket sent it, the freshest copy of each."""
    index: dict[int, dict] = {}
    bodies = (
        ListCache.objects.filter(company_id=company_id).order_by("fetched_at").values_list("body", flat=True)
    )
    for body in bodies:
        for item in msgspec.json.decode(bytes(body) or b"[]"):
            index[item.get("id")] = item
    return index


# Orders found in stored lists, by company, order and the stored lists' revisions: while
# FlickRocket does not answer, every view of an order page looks its order up here, and
# decoding every stored list for it took longer than the rest of the view.
_found: OrderedDict[tuple, fr.Fulfillment | None] = OrderedDict()
_found_lock = threading.Lock()
_FOUND_LIMIT = 500
# Read on every view of an order page while FlickRocket does not answer: compiled once.
_LIST_REVISIONS = PrecompiledSelect(ListCache, where=("company_id",), columns=("id", "fetched_at", "version"))


def cached_order(*, company_id: int, order_id: int) -> fr.Fulfillment | None:
    """The order as found in the freshest list we fetched for this company, if any."""
    return cached_copy(company_id=company_id, order_id=order_id)[0]


def cached_copy(*, company_id: int, order_id: int) -> tuple[fr.Fulfillment | None, datetime | None]:
    """``cached_order``, and when the oldest list we hold was fetched: our changes accepted
    after that may not show in the copy yet."""
    revisions = tuple(sorted(_LIST_REVISIONS.rows(company_id)))
    oldest = min((fetched_at for _, fetched_at, _ in revisions), default=None)
    key = (company_id, order_id, revisions)
    with _found_lock:
        if key in _found:
            _found.move_to_end(key)
            return _found[key], oldest
    item = cached_order_index(company_id).get(order_id)
    order = fr.Fulfillment.from_api(item) if item else None
    with _found_lock:
        _found[key] = order
        while len(_found) > _FOUND_LIMIT:
            _found.popitem(last=False)
    return order, oldest


def overlay(
    *,
    company_id: int,
    orders: list[fr.Fulfillment],
    since: datetime,
    latest: dict[int, PendingUpdate] | None = None,
) -> list[Row]:
    """Pair each order with our latest change FlickRocket may not reflect in ``orders`` yet:
    anything unsent or refused, and anything accepted after the list was fetched."""
    if latest is None:
        latest = latest_changes(company_id=company_id, since=since)
    return [Row(order=order, update=latest.get(order.id)) for order in orders]


def latest_changes(*, company_id: int, since: datetime) -> dict[int, PendingUpdate]:
    """Per order, our change FlickRocket's lists fetched at ``since`` may not reflect yet."""
    updates = (
        PendingUpdate.objects.filter(company_id=company_id)
        .filter(
            Q(state__in=[State.QUEUED, State.SENDING, State.REFUSED])
            | Q(state=State.ACCEPTED, finished_at__gte=since)
        )
        .order_by("order_id", "-id")
    )
    latest: dict[int, PendingUpdate] = {}
    for update in updates:
        current = latest.get(update.order_id)
        # An active change beats a refused or accepted one; otherwise the newest wins.
        if current is None or (update.is_active and not current.is_active):
            latest[update.order_id] = update
    return latest


def reopened_rows(*, company_id: int, present: set[int], latest: dict[int, PendingUpdate]) -> list[Row]:
    """Orders set back to open here that the open list FlickRocket sent does not hold yet.

    They belong on the open list from the moment the change is queued, as the last list we
    fetched of them (usually the shipped one) shows them; no query unless there are some.
    """
    missing = [
        order_id
        for order_id, update in latest.items()
        if update.status == fr.Fulfillment.OPEN and update.state != State.REFUSED and order_id not in present
    ]
    if not missing:
        return []
    index = cached_order_index(company_id)
    return [
        Row(order=fr.Fulfillment.from_api(index[order_id]), update=latest[order_id])
        for order_id in missing
        if order_id in index
    ]


def search(
    rows: RowSequence,
    *,
    q: str = "",
    country: str = "",
    shipping_model: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
    sort: str = "date",
    descending: bool = False,
) -> list[Row]:
    """Search (order id, name, city, country, product title, GTIN), filter, sort: on the list's
    compact entries, so no order is decoded for it."""
    sort = sort if sort in ENTRY_SORTS else "date"
    # Sorting first keeps the order through the filters; the stored list's sorts are kept.
    if rows.whole is not None:
        entries = rows.whole.in_order(sort)
    else:
        entries = sorted(rows.entries, key=ENTRY_SORTS[sort])
    needle = q.strip().lstrip("#").casefold()
    if needle:
        entries = [e for e in entries if needle in e.haystack]
    if country:
        entries = [e for e in entries if e.country_code == country]
    if shipping_model:
        entries = [e for e in entries if e.shipping_model == shipping_model]
    if created_from:
        entries = [e for e in entries if e.created_at[:10] >= created_from.isoformat()]
    if created_to:
        entries = [e for e in entries if e.created_at[:10] <= created_to.isoformat()]
    # Every key ends in the order id, so descending is the ascending order reversed.
    return rows.derive(entries[::-1] if descending else list(entries))


def paginate(rows: RowSequence, *, page: int | str | None, size: int | None) -> Page:
    """One page of rows; an unknown size is 50, a page past the end is the last one."""
    return Paginator(rows, size if size in PAGE_SIZES else 50).get_page(page)


def list_row(*, company_id: int, order_id: int) -> Row | None:
    """A list row after an inline change: from the cached list, no FlickRocket call."""
    order = cached_order(company_id=company_id, order_id=order_id)
    if order is None:
        return None
    return overlay(company_id=company_id, orders=[order], since=timezone.now())[0]


def selected_rows(*, company_id: int, order_ids: list[int]) -> list[Row]:
    """The selected orders that belong to this company (forged ids simply drop out).

    Every selectable id comes from a list this company fetched, so it is in the cache; an id
    that is not is dropped rather than answered with a fresh fetch, which a forged POST could
    otherwise trigger every time.
    """
    index = cached_order_index(company_id)
    orders = [fr.Fulfillment.from_api(index[order_id]) for order_id in order_ids if order_id in index]
    return overlay(company_id=company_id, orders=orders, since=timezone.now())


def nav_counts(*, company_id: int) -> dict:
    """Counts for the navigation, from what we already hold: never a FlickRocket call."""
    caches = {
        c.kind: c.count
        for c in ListCache.objects.filter(company_id=company_id, params="").only("kind", "count")
    }
    # One query for both counts: the nav is on every page.
    stuck_before = stuck_after()
    changes = PendingUpdate.objects.filter(company_id=company_id).aggregate(
        pending=Count("id", filter=Q(state__in=PendingUpdate.ACTIVE)),
        stuck=Count(
            "id",
            filter=Q(state=State.REFUSED) | Q(state__in=PendingUpdate.ACTIVE, created_at__lt=stuck_before),
        ),
        next_stuck=Min("created_at", filter=Q(state__in=PendingUpdate.ACTIVE, created_at__gte=stuck_before)),
    )
    if changes["next_stuck"] is not None:
        # A kept page (frapp.pagecache) must count that change as needing attention in time.
        pagecache.changes_at((changes["next_stuck"] - stuck_before + timezone.now()).timestamp())
    opened, shipped, every = caches.get("open"), caches.get("shipped"), caches.get("all")
    # Every order is open or shipped: two known counts give the third without asking FlickRocket.
    if shipped is None and None not in (opened, every):
        shipped = max(0, every - opened)
    if every is None and None not in (opened, shipped):
        every = opened + shipped
    return {
        "open": opened,
        "shipped": shipped,
        "all": every,
        "pending": changes["pending"],
        "stuck": changes["stuck"],
    }
