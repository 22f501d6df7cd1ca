"""Price models, fetched from FlickRocket and kept briefly per company.

Price models change rarely and the API returns them all in one call, so a page view reads
the stored copy while it is fresh and asks FlickRocket otherwise. When FlickRocket is slow or
down, the last copy is shown with its age instead of an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from django.conf import settings
from django.utils import timezone

import flickrocket as fr
from frapp.errors import Unavailable, problem_text, retry_ends_at
from oauth.clients import client_for

from .models import PriceListCache

logger = logging.getLogger(__name__)


def cache_seconds() -> int:
    return settings.PRICE_CACHE_SECONDS


@dataclass(frozen=True)
class PriceList:
    models: list[fr.PriceModel]
    fetched_at: datetime
    stale_because: str = ""  # why an older copy is shown, in the owner's words
    asked_again_at: float | None = None  # with stale_because: when FlickRocket's Retry-After ends


def due_at(price_list: PriceList) -> float:
    """When a view would ask FlickRocket again for this copy (a ``time.time()``)."""
    return price_list.fetched_at.timestamp() + cache_seconds()


def _decode(rows: list[dict]) -> list[fr.PriceModel]:
    return fr.parse_list(fr.PriceModel, rows)


def _store(company_id: int, models: list[fr.PriceModel]) -> PriceListCache:
    cached, _ = PriceListCache.objects.update_or_create(
        company_id=company_id,
        defaults={
            "models_json": msgspec.to_builtins(models),
            "fetched_at": timezone.now(),
        },
    )
    return cached


def load_price_models(*, company_id: int, refresh: bool = False) -> PriceList:
    """The company's price models: the stored copy while fresh, else FlickRocket's.

    ``refresh`` is the owner's refresh button. Raises ``FlickRocketError`` only when there is
    no copy to fall back on.
    """
    cached = PriceListCache.objects.filter(company_id=company_id).first()
    fresh_after = timezone.now() - timedelta(seconds=cache_seconds())
    if cached and not refresh and cached.fetched_at >= fresh_after:
        return PriceList(_decode(cached.models_json), cached.fetched_at)
    try:
        models = client_for(company_id).price_models()
    except fr.Forbidden:
        raise
    except fr.RequestFailed as exc:
        if cached is None:
            raise
        logger.warning("price models for company %s: showing stored copy (%s)", company_id, exc)
        return PriceList(
            _decode(cached.models_json),
            cached.fetched_at,
            stale_because=problem_text(exc),
            asked_again_at=retry_ends_at(exc),
        )
    cached = _store(company_id, models)
    return PriceList(models, cached.fetched_at)


def price_list_for_page(*, company_id: int, refresh: bool = False) -> PriceList | Unavailable:
    """``load_price_models`` for a page: ``Unavailable`` instead of an error when there is no
    stored copy to fall back on. A missing permission still goes to the edge."""
    try:
        return load_price_models(company_id=company_id, refresh=refresh)
    except fr.RequestFailed as exc:
        return Unavailable(problem_text(exc))


def price_model_for_page(*, company_id: int, price_id: int) -> tuple[fr.PriceModel, PriceList] | Unavailable:
    """``load_price_model`` for a page: ``Unavailable`` when FlickRocket refused or did not
    answer; ``NotFound`` (not this company's id) is left to the edge: a 404."""
    try:
        return load_price_model(company_id=company_id, price_id=price_id)
    except fr.NotFound:
        raise
    except fr.RequestFailed as exc:
        return Unavailable(problem_text(exc))


def load_price_model(*, company_id: int, price_id: int) -> tuple[fr.PriceModel, PriceList]:
    """One model, from the company's list; asks FlickRocket only for one the list lacks.

    Raises ``NotFound`` for an id that is not this company's.
    """
    prices = load_price_models(company_id=company_id)
    model = next((m for m in prices.models if m.id == price_id), None)
    if model is None:
        model = client_for(company_id).price_model(price_id)
    return model, prices
