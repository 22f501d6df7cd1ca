"""One order, as its page and the packing bench read it: FlickRocket's copy now, or the one in
the last list fetched when FlickRocket does not answer, with our outbox laid over it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from django.utils import timezone

import flickrocket as fr
from frapp.errors import Unavailable, problem_text, retry_ends_at
from oauth.clients import client_for

from .selectors import Row, cached_copy, overlay


@dataclass
class OrderDetail:
    row: Row
    problem: str = ""


@dataclass(frozen=True)
class FetchedOrder:
    """One order as FlickRocket has it now, or the cached copy (with ``problem``) when it did not
    answer; ``since`` is when that copy was true."""

    order: fr.Fulfillment
    since: datetime
    problem: str = ""
    asked_again_at: float | None = None  # with a problem: when FlickRocket's Retry-After ends

    def fingerprint(self) -> bytes:
        """Equal for equal answers: what a kept order page depends on besides our own rows."""
        answer = msgspec.json.encode(self.order) + self.problem.encode()
        return hashlib.blake2b(answer, digest_size=16).digest()


def fetch_order(*, company_id: int, order_id: int) -> FetchedOrder:
    """One order, fresh from FlickRocket; the cached copy when FlickRocket does not answer.

    ``fr.NotFound`` (also for another shop's order id) is left to the edge: a 404.
    """
    try:
        order = client_for(company_id).fulfillment(order_id)
    except fr.Transient as exc:
        order, listed_at = cached_copy(company_id=company_id, order_id=order_id)
        if order is None:
            raise
        problem, asked_again_at = problem_text(exc), retry_ends_at(exc)
        return FetchedOrder(order, since=listed_at, problem=problem, asked_again_at=asked_again_at)
    return FetchedOrder(order, since=timezone.now())


def detail_of(*, company_id: int, fetched: FetchedOrder) -> OrderDetail:
    """The order with our outbox laid over it."""
    rows = overlay(company_id=company_id, orders=[fetched.order], since=fetched.since - timedelta(seconds=1))
    return OrderDetail(row=rows[0], problem=fetched.problem)


def order_detail(*, company_id: int, order_id: int) -> OrderDetail:
    return detail_of(company_id=company_id, fetched=fetch_order(company_id=company_id, order_id=order_id))


def order_for_page(*, company_id: int, order_id: int) -> FetchedOrder | Unavailable:
    """``fetch_order`` for the order's page: ``Unavailable`` when FlickRocket does not answer and
    the order is not in the last list fetched. ``fr.NotFound`` is the edge's 404."""
    try:
        return fetch_order(company_id=company_id, order_id=order_id)
    except fr.Transient as exc:
        return Unavailable(problem_text(exc))


def order_detail_for_page(*, company_id: int, order_id: int) -> OrderDetail | Unavailable:
    """``order_detail`` for the order's page (see ``order_for_page``)."""
    fetched = order_for_page(company_id=company_id, order_id=order_id)
    if isinstance(fetched, Unavailable):
        return fetched
    return detail_of(company_id=company_id, fetched=fetched)
