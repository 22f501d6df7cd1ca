"""Reads for the fulfillment pages: lists (fresh, or cached when FlickRocket is slow), the
outbox overlaid on them, search/filter/sort/paging in our code, history and counts.

A page view makes at most one list call to FlickRocket, with the page-view client's short
timeouts; a list fetched within the last few seconds is reused so paging and sorting are free.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import quote

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q
from django.utils import timezone

from oauth import client as fr

from ..models import (
    AuditEntry,
    CompanyOutbox,
    CsvImport,
    CsvImportRow,
    ListCache,
    PendingUpdate,
    UpdateEvent,
)
from ..services import fulfillments as services

State = PendingUpdate.State
PAGE_SIZES = (25, 50, 100, 250)
SORTS = {
    "date": lambda row: (row.order.created_at, row.order.id),
    "country": lambda row: (row.order.shipping_address.country_name.casefold(), row.order.id),
    "weight": lambda row: (row.order.total_grams, row.order.id),
    "id": lambda row: row.order.id,
    "name": lambda row: (row.order.shipping_address.name.casefold(), row.order.id),
}


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
        if self.update is not None and self.update.status is not None and self.update.state in (
            State.QUEUED, State.SENDING, State.ACCEPTED,
        ):  # fmt: skip
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

    @property
    def tracking_links(self) -> list[tuple[str, str]]:
        """(number, URL or "") per tracking number, from the shipping model's tracking URL.

        Only http(s) URLs become links: the URL comes from shop data, not from us.
        """
        template = self.order.tracking_url.strip()
        safe = template.lower().startswith(("https://", "http://"))
        links = []
        for number in self.tracking_numbers:
            if not safe:
                links.append((number, ""))
            elif "{tracking}" in template:
                links.append((number, template.replace("{tracking}", quote(number, safe=""))))
            else:
                links.append((number, template))
        return links

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
    rows: list[Row]
    fetched_at: datetime | None
    problem: str = ""  # why the list may be old, in the owner's words
    version: int = 0
    countries: list[tuple[str, str]] = field(default_factory=list)
    shipping_models: list[str] = field(default_factory=list)


@dataclass
class Page:
    rows: list[Row]
    number: int
    pages: int
    total: int
    size: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.size, self.total)


def _fresh_seconds() -> float:
    return settings.FULFILLMENT_LIST_FRESH_SECONDS


def list_version(*, company_id: int) -> int:
    outbox = CompanyOutbox.objects.filter(company_id=company_id).only("list_version").first()
    return outbox.list_version if outbox else 0


def _range_key(created_at_min: date | None, created_at_max: date | None) -> str:
    return f"{created_at_min or ''}|{created_at_max or ''}" if (created_at_min or created_at_max) else ""


def order_list(
    *,
    company_id: int,
    kind: str,
    created_at_min: date | None = None,
    created_at_max: date | None = None,
    refresh: bool = False,
) -> OrderList:
    """The list for one view, with our outbox laid over it.

    ``created_at_min/max`` go to FlickRocket for the "all" view (whole days, inclusive); the
    other views filter by date in our code so they reuse one fetched list.
    """
    params = _range_key(created_at_min, created_at_max) if kind == ListCache.Kind.ALL else ""
    version = list_version(company_id=company_id)
    cache = ListCache.objects.filter(company_id=company_id, kind=kind, params=params).defer("payload").first()
    fresh_after = timezone.now() - timedelta(seconds=_fresh_seconds())
    problem = ""
    if cache is None or refresh or cache.version < version or cache.fetched_at < fresh_after:
        try:
            orders = _fetch(company_id, kind, created_at_min, created_at_max)
        except (fr.Unavailable, fr.RateLimited, fr.BadResponse) as exc:
            if cache is None:
                raise
            problem = str(exc)
        else:
            # A read that writes, on purpose: the fetched list is what the owner now sees, and
            # keeping it is what lets pages and the outbox work while FlickRocket is down. It is
            # one idempotent upsert through the service, never an owner-visible change.
            cache = services.remember_list(
                company_id=company_id, kind=kind, params=params, orders=orders, version=version
            )
            _remember_parsed(cache, orders)
    orders = _parsed_orders(cache)
    rows = overlay(company_id=company_id, orders=orders, since=cache.fetched_at)
    if kind == ListCache.Kind.OPEN:
        rows = [row for row in rows if not (row.is_shipped and row.write_state == "accepted")]
    elif kind == ListCache.Kind.SHIPPED:
        rows = [row for row in rows if not (not row.is_shipped and row.write_state == "accepted")]
    countries = sorted(
        {(o.shipping_address.country_code, o.shipping_address.country_name) for o in orders},
        key=lambda pair: pair[1],
    )
    models = sorted({o.shipping_model for o in orders if o.shipping_model})
    return OrderList(
        kind=kind, rows=rows, fetched_at=cache.fetched_at, problem=problem, version=version,
        countries=countries, shipping_models=models,
    )  # fmt: skip


# Decoding a stored list of thousands of orders costs more than everything else a page does,
# so each process keeps the last few decoded lists, keyed by the cache row's exact revision.
_PARSED_LIMIT = 8
_parsed: OrderedDict[tuple, list[fr.Fulfillment]] = OrderedDict()
_parsed_lock = threading.Lock()


def _parsed_key(cache: ListCache) -> tuple:
    return (cache.pk, cache.fetched_at, cache.version)


def _remember_parsed(cache: ListCache, orders: list[fr.Fulfillment]) -> None:
    with _parsed_lock:
        _parsed[_parsed_key(cache)] = orders
        _parsed.move_to_end(_parsed_key(cache))
        while len(_parsed) > _PARSED_LIMIT:
            _parsed.popitem(last=False)


def _parsed_orders(cache: ListCache) -> list[fr.Fulfillment]:
    with _parsed_lock:
        hit = _parsed.get(_parsed_key(cache))
    if hit is not None:
        return hit
    payload = ListCache.objects.values_list("payload", flat=True).get(pk=cache.pk)
    orders = [fr.Fulfillment.from_api(item) for item in payload]
    _remember_parsed(cache, orders)
    return orders


def _fetch(company_id, kind, created_at_min, created_at_max) -> list[fr.Fulfillment]:
    client = fr.FlickRocketClient.for_page_view(company_id)
    if kind == ListCache.Kind.OPEN:
        return client.open_fulfillments()
    if kind == ListCache.Kind.SHIPPED:
        return client.shipped_fulfillments()
    low = datetime.combine(created_at_min, time.min) if created_at_min else None
    high = datetime.combine(created_at_max, time.max.replace(microsecond=0)) if created_at_max else None
    return client.all_fulfillments(created_at_min=low, created_at_max=high)


def overlay(*, company_id: int, orders: list[fr.Fulfillment], since: datetime) -> list[Row]:
    """Pair each order with our latest change FlickRocket may not reflect in ``orders`` yet:
    anything unsent or refused, and anything accepted after the list was fetched."""
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
    return [Row(order=order, update=latest.get(order.id)) for order in orders]


def search(
    rows: list[Row],
    *,
    q: str = "",
    country: str = "",
    shipping_model: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
    sort: str = "date",
    descending: bool = False,
) -> list[Row]:
    """Search (order id, name, city, country, product title, GTIN), filter, sort."""
    needle = q.strip().lstrip("#").casefold()
    if needle:
        rows = [row for row in rows if needle in _haystack(row.order)]
    if country:
        rows = [row for row in rows if row.order.shipping_address.country_code == country]
    if shipping_model:
        rows = [row for row in rows if row.order.shipping_model == shipping_model]
    if created_from:
        rows = [row for row in rows if row.order.created_at[:10] >= created_from.isoformat()]
    if created_to:
        rows = [row for row in rows if row.order.created_at[:10] <= created_to.isoformat()]
    return sorted(rows, key=SORTS.get(sort, SORTS["date"]), reverse=descending)


def _haystack(order: fr.Fulfillment) -> str:
    address = order.shipping_address
    parts = [str(order.id), address.name, address.city, address.country_name, address.country_code]
    for item in order.line_items:
        parts += [item.title, item.gtin]
    return "\n".join(parts).casefold()


def paginate(rows: list[Row], *, page: int, size: int) -> Page:
    size = size if size in PAGE_SIZES else 50
    pages = max(1, -(-len(rows) // size))
    number = min(max(1, page), pages)
    start = (number - 1) * size
    return Page(rows=rows[start : start + size], number=number, pages=pages, total=len(rows), size=size)


@dataclass
class OrderDetail:
    row: Row
    problem: str = ""


def order_detail(*, company_id: int, order_id: int) -> OrderDetail:
    """One order, fresh from FlickRocket; the cached copy when FlickRocket does not answer.

    ``fr.NotFound`` (also for another shop's order id) is left to the view: a 404.
    """
    problem = ""
    try:
        order = fr.FlickRocketClient.for_page_view(company_id).fulfillment(order_id)
        since = timezone.now()
    except (fr.Unavailable, fr.RateLimited, fr.BadResponse) as exc:
        order = services.cached_order(company_id=company_id, order_id=order_id)
        if order is None:
            raise
        problem = str(exc)
        since = ListCache.objects.filter(company_id=company_id).order_by("fetched_at").first().fetched_at
    rows = overlay(company_id=company_id, orders=[order], since=since - timedelta(seconds=1))
    return OrderDetail(row=rows[0], problem=problem)


def order_history(*, company_id: int, order_id: int) -> list[PendingUpdate]:
    return list(
        PendingUpdate.objects.filter(company_id=company_id, order_id=order_id)
        .prefetch_related("events")
        .order_by("-id")[:50]
    )


def update_events(*, update: PendingUpdate) -> list[UpdateEvent]:
    return list(update.events.all())


def audit_log(*, company_id: int, order_id: int | None = None, user_id: str = "", source: str = ""):
    entries = AuditEntry.objects.filter(company_id=company_id).select_related("update")
    if order_id:
        entries = entries.filter(order_id=order_id)
    if user_id:
        entries = entries.filter(user_id=user_id)
    if source:
        entries = entries.filter(source=source)
    return entries


def outbox_rows(*, company_id: int, which: str = "attention"):
    rows = PendingUpdate.objects.filter(company_id=company_id)
    if which == "attention":
        rows = rows.filter(state__in=[State.QUEUED, State.SENDING, State.REFUSED])
    return rows.order_by("-id")


def stuck_after() -> datetime:
    return timezone.now() - timedelta(seconds=settings.FULFILLMENT_STUCK_SECONDS)


def nav_counts(*, company_id: int) -> dict:
    """Counts for the navigation, from what we already hold: never a FlickRocket call."""
    caches = {
        c.kind: c.count
        for c in ListCache.objects.filter(company_id=company_id, params="").only("kind", "count")
    }
    pending = PendingUpdate.objects.filter(company_id=company_id, state__in=PendingUpdate.ACTIVE)
    stuck = PendingUpdate.objects.filter(company_id=company_id).filter(
        Q(state=State.REFUSED) | Q(state__in=PendingUpdate.ACTIVE, created_at__lt=stuck_after())
    )
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
        "pending": pending.count(),
        "stuck": stuck.count(),
    }


def csv_import(*, company_id: int, import_id: int) -> CsvImport | None:
    return CsvImport.objects.filter(company_id=company_id, pk=import_id).first()


def csv_import_rows(*, job: CsvImport, show: str, page: str | None, per_page: int = 200):
    """One page of an import's rows (optionally one verdict only) and the count per verdict."""
    rows = job.rows.all()
    if show in CsvImportRow.Verdict.values:
        rows = rows.filter(verdict=show)
    counts = dict.fromkeys(CsvImportRow.Verdict.values, 0)
    for verdict in job.rows.values_list("verdict", flat=True):
        counts[verdict] += 1
    return Paginator(rows, per_page).get_page(page), counts


def csv_import_results(*, job: CsvImport):
    """Each row of an import with what became of it, streamed for the result download."""
    for row in job.rows.select_related("update").iterator(chunk_size=500):
        result, detail = row.get_verdict_display(), row.reason
        if row.update is not None:
            result, detail = row.update.get_state_display(), row.update.last_error
        yield row, result, detail


def csv_progress(*, job: CsvImport) -> dict:
    counts = {state: 0 for state in State.values}
    for state in job.updates.values_list("state", flat=True):
        counts[state] += 1
    total = job.ready_rows
    finished = counts[State.ACCEPTED] + counts[State.REFUSED] + counts[State.SUPERSEDED]
    return {
        "total": total,
        "accepted": counts[State.ACCEPTED],
        "refused": counts[State.REFUSED],
        "pending": counts[State.QUEUED] + counts[State.SENDING],
        "superseded": counts[State.SUPERSEDED],
        "finished": finished,
        "percent": int(finished * 100 / total) if total else 100,
        "retrying": job.updates.filter(state=State.QUEUED, attempts__gt=0).count(),
    }


def recent_imports(*, company_id: int):
    return CsvImport.objects.filter(company_id=company_id).order_by("-created_at")[:10]


def list_row(*, company_id: int, order_id: int) -> Row | None:
    """A list row after an inline change: from the cached list, no FlickRocket call."""
    order = services.cached_order(company_id=company_id, order_id=order_id)
    if order is None:
        return None
    return overlay(company_id=company_id, orders=[order], since=timezone.now())[0]


def selected_rows(*, company_id: int, order_ids: list[int]) -> list[Row]:
    """The selected orders that belong to this company (forged ids simply drop out).

    Every selectable id comes from a list this company fetched, so it is in the cache; an id
    that is not is dropped rather than answered with a fresh fetch, which a forged POST could
    otherwise trigger every time.
    """
    index = services.cached_order_index(company_id)
    orders = [fr.Fulfillment.from_api(index[order_id]) for order_id in order_ids if order_id in index]
    return overlay(company_id=company_id, orders=orders, since=timezone.now())


def order_index(*, company_id: int) -> dict[int, fr.Fulfillment]:
    """Every order of the shop by id, shipped or not, as the owner sees it now (CSV preview)."""
    listing = order_list(company_id=company_id, kind=ListCache.Kind.ALL)
    orders = {}
    for row in listing.rows:
        order = row.order
        if row.is_shipped and not order.is_shipped:
            order = fr.Fulfillment(**{**order.__dict__, "status": fr.Fulfillment.SHIPPED})
        orders[order.id] = order
    return orders


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
                    product_id=line.product_id, title=line.title, version=line.version,
                    gtin=line.gtin, quantity=0, grams=line.grams, orders=[],
                )  # fmt: skip
            item.quantity += line.quantity
            if row.order.id not in item.orders:
                item.orders.append(row.order.id)
    return sorted(items.values(), key=lambda item: (item.title.casefold(), item.version))
