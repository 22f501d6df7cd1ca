"""Order lists and orders fetched from FlickRocket, and the list cache that keeps them.

A page view makes at most one list call to FlickRocket, with the page-view client's short
timeouts; a list fetched within the last few seconds is reused so paging and sorting are free,
and the last list is what pages show while FlickRocket is down.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import msgspec
from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

import flickrocket as fr
from frapp.errors import AppError, Unavailable, problem_text, refusals_as_app_errors, retry_ends_at
from fulfillment.outbox.models import CompanyOutbox, PendingUpdate, Source
from fulfillment.outbox.services import change_order
from oauth.clients import client_for

from . import listindex
from .detail import order_detail
from .liststore import held_list, remember_list, revision
from .models import ListCache
from .selectors import (
    OrderList,
    Row,
    cached_order_index,
    latest_changes,
    list_version,
    reopened_rows,
)


def _fresh_seconds() -> float:
    return settings.FULFILLMENT_LIST_FRESH_SECONDS


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
    cache = ListCache.objects.filter(company_id=company_id, kind=kind, params=params).defer("body").first()
    fresh_after = timezone.now() - timedelta(seconds=_fresh_seconds())
    problem, asked_again_at = "", None
    if cache is None or refresh or cache.version < version or cache.fetched_at < fresh_after:
        previous = None
        if cache is not None:
            # Kept through the fetch: when FlickRocket sends the same list again, it serves as the
            # new one (a changed list replaces it at once).
            previous = listindex.held(cache.pk, revision(cache))
            listindex.forget(cache.pk)
        try:
            orders = _fetch(company_id, kind, created_at_min, created_at_max)
        except fr.Transient as exc:
            if cache is None:
                raise
            problem, asked_again_at = problem_text(exc), retry_ends_at(exc)
            if previous is not None:
                listindex.remember(cache.pk, revision(cache), previous)
        else:
            # Kept: it is what lets pages and the outbox work while FlickRocket is down.
            body = msgspec.json.encode(orders)
            same = previous is not None and previous.body == body
            cache = remember_list(
                company_id=company_id,
                kind=kind,
                params=params,
                body=body,
                count=len(orders),
                version=version,
                stored=cache,
                same_body=same,
            )
            # The same bytes give the same compact list (and its sorts): only the revision is new.
            fresh = previous if same else listindex.compact(body, orders)
            listindex.remember(cache.pk, revision(cache), fresh)
            del orders, body, fresh
        del previous
    held = held_list(cache)
    latest = latest_changes(company_id=company_id, since=cache.fetched_at)
    extra: dict[int, fr.Fulfillment] = {}

    def build(entry: listindex.Entry) -> Row:
        order = held.order(entry) if entry.pos >= 0 else extra[entry.id]
        return Row(order=order, update=latest.get(entry.id))

    entries = held.entries
    if latest and kind != ListCache.Kind.ALL:
        # Only an order with a change of ours can move between open and shipped: decode those.
        moved = set()
        for entry in entries:
            if entry.id in latest:
                row = build(entry)
                if row.write_state == "accepted" and row.is_shipped == (kind == ListCache.Kind.OPEN):
                    moved.add(entry.id)
        if moved:
            entries = [e for e in entries if e.id not in moved]
    if kind == ListCache.Kind.OPEN and latest:
        present = {e.id for e in held.entries}
        reopened = reopened_rows(company_id=company_id, present=present, latest=latest)
        if reopened:
            extra.update((row.order.id, row.order) for row in reopened)
            entries = [*entries, *(listindex.entry_for(row.order) for row in reopened)]
    return OrderList(
        kind=kind,
        rows=listindex.RowSequence(entries, build, whole=held if entries is held.entries else None),
        fetched_at=cache.fetched_at,
        problem=problem,
        asked_again_at=asked_again_at,
        version=version,
        countries=held.countries,
        shipping_models=held.shipping_models,
        revision=(cache.pk, *revision(cache)),
    )


def list_due_at(listing: OrderList) -> float:
    """When a view of this list would ask FlickRocket again (a ``time.time()``)."""
    return listing.fetched_at.timestamp() + _fresh_seconds()


def order_list_for_page(**kwargs) -> OrderList | Unavailable:
    """``order_list`` for a list page: ``Unavailable`` when FlickRocket does not answer and no
    earlier list is kept (with one, the list is shown with its ``problem``)."""
    try:
        return order_list(**kwargs)
    except fr.Transient as exc:
        return Unavailable(problem_text(exc))


def decode_orders(body: bytes) -> list[fr.Fulfillment]:
    """A stored list's bytes, straight into Fulfillments (they were encoded from them)."""
    try:
        return msgspec.json.decode(body or b"[]", type=list[fr.Fulfillment])
    except msgspec.ValidationError:
        return fr.parse_list(fr.Fulfillment, msgspec.json.decode(body))


def _fetch(company_id, kind, created_at_min, created_at_max) -> list[fr.Fulfillment]:
    client = client_for(company_id)
    if kind == ListCache.Kind.OPEN:
        return client.open_fulfillments()
    if kind == ListCache.Kind.SHIPPED:
        return client.shipped_fulfillments()
    low = datetime.combine(created_at_min, time.min) if created_at_min else None
    high = datetime.combine(created_at_max, time.max.replace(microsecond=0)) if created_at_max else None
    return client.all_fulfillments(created_at_min=low, created_at_max=high)


def invalidate_lists(*, company_id: int, new_orders: int = 1) -> None:
    """New orders arrived (webhook): the next list view fetches fresh, open pages are told.

    The version counts the orders announced (a drained batch bumps it once by its count), so
    "acted on once" stays visible in it.
    """
    CompanyOutbox.objects.get_or_create(company_id=company_id)
    CompanyOutbox.objects.filter(company_id=company_id).update(list_version=F("list_version") + new_orders)


def order_index(*, company_id: int) -> dict[int, fr.Fulfillment]:
    """Every order of the shop by id, shipped or not, as the owner sees it now (CSV preview)."""
    listing = order_list(company_id=company_id, kind=ListCache.Kind.ALL)
    orders = {}
    for row in listing.rows:
        order = row.order
        if row.is_shipped and not order.is_shipped:
            order = msgspec.structs.replace(order, status=fr.Fulfillment.SHIPPED)
        orders[order.id] = order
    return orders


def reopen_order(
    *,
    company_id: int,
    user_id: str,
    order_id: int,
    clear_tracking: bool = False,
    idempotency_key: str | None = None,
) -> PendingUpdate:
    """Set an order marked shipped by mistake back to open (status 0), through the outbox.

    Only the status is sent unless ``clear_tracking``: FlickRocket keeps ``tracking_number``
    when it is not sent, and the number usually stays right (the label exists; the parcel just
    has not gone yet). An order FlickRocket does not know (another shop's too) is a 404; any
    other refusal an ``AppError`` the page shows as a message.
    """
    if idempotency_key and PendingUpdate.objects.filter(idempotency_key=idempotency_key).exists():
        return change_order(  # the same confirmation twice: the row it already queued
            company_id=company_id,
            user_id=user_id,
            order_id=order_id,
            tracking_number=None,
            ship=False,
            source=Source.SINGLE,
            idempotency_key=idempotency_key,
        )
    with refusals_as_app_errors(not_found="No such order"):
        row = order_detail(company_id=company_id, order_id=order_id).row
    if not row.is_shipped:
        raise AppError(
            _("Order %(order)s is open already: there is no shipment to undo.") % {"order": order_id}
        )
    seen = {**cached_order_index(company_id)}
    seen[order_id] = {"status": fr.Fulfillment.SHIPPED, "tracking_number": row.tracking_number}
    return change_order(
        company_id=company_id,
        user_id=user_id,
        order_id=order_id,
        tracking_number="" if clear_tracking else None,
        ship=False,
        source=Source.SINGLE,
        idempotency_key=idempotency_key,
        index=seen,
        order=row.order,
    )
