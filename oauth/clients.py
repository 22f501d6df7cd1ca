"""FlickRocket clients for this app: the platform package, configured from Django settings and
fed by the token store. The only place that builds a ``flickrocket.FlickRocketClient``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Literal

from django.conf import settings

import flickrocket as fr

Purpose = Literal["page", "worker"]


def policy(purpose: Purpose = "worker", **overrides: Any) -> fr.Policy:
    """A page view waits little and tries twice; background work waits longer.

    A page view never sleeps on the rate limit (``max_rate_wait=0``): a 429 is ``RateLimited``
    at once and the page shows what the app already has, with the "FlickRocket is unavailable"
    banner. Sleeping out ``Retry-After`` held a gunicorn thread for a second or more per view.

    ``overrides`` are ``fr.Policy`` fields (``read_timeout``, ``max_attempts``, ``max_rate_wait``…).
    """
    if purpose == "page":
        base = fr.Policy(
            connect_timeout=settings.FLICKROCKET_CONNECT_TIMEOUT,
            read_timeout=settings.FLICKROCKET_PAGE_READ_TIMEOUT,
            max_attempts=2,
            max_rate_wait=0,
        )
    elif purpose == "worker":
        base = fr.Policy(
            connect_timeout=settings.FLICKROCKET_CONNECT_TIMEOUT,
            read_timeout=settings.FLICKROCKET_READ_TIMEOUT,
            max_attempts=3,
            max_rate_wait=5.0,
        )
    else:
        raise ValueError(f"unknown purpose {purpose!r}")
    return dataclasses.replace(base, **overrides)


# Per shop, in this process: a 429's Retry-After that page views must not sleep out. Until it
# ends their calls are refused without asking (fr.Pause); the worker's clients pace themselves.
_page_pauses: dict[int, fr.Pause] = {}


def page_pause(company_id: int) -> fr.Pause:
    pause = _page_pauses.get(company_id)
    if pause is None:
        pause = _page_pauses.setdefault(company_id, fr.Pause())
    return pause


def client_for(
    company_id: int,
    *,
    purpose: Purpose = "page",
    on_call_limit: Callable[[int, fr.CallLimit], None] | None = None,
    **overrides: Any,
) -> fr.FlickRocketClient:
    """A client for one shop, with tokens from the token store.

    A token FlickRocket refuses marks the shop for reinstall, and so does an answer with another
    company's fulfillments (``fr.WrongCompany``: the data is refused, never shown nor cached).
    ``on_call_limit(company_id, limit)``
    hears the platform's call-limit header; ``overrides`` tune the purpose's ``fr.Policy``.
    """
    # Imported here, not at the top: the token store (oauth.tokens) calls this module for the
    # exchange and token_info, and a client needs the token store for its tokens.
    from . import tokens

    return fr.FlickRocketClient(
        base_url=settings.FLICKROCKET_API_BASE,
        webhooks_path=settings.FLICKROCKET_WEBHOOKS_PATH,
        token=lambda stale: tokens.access_token(company_id=company_id, stale=stale),
        policy=policy(purpose, **overrides),
        on_refused=lambda reason: tokens.mark_needs_reinstall(company_id=company_id, reason=reason),
        on_call_limit=partial(on_call_limit, company_id) if on_call_limit else None,
        expected_company_id=int(company_id),
        pause=page_pause(int(company_id)) if purpose == "page" and not overrides else None,
    )


def grant_reader(access_token: str) -> fr.FlickRocketClient:
    """A client that reads with one access token that is nobody's installation yet (a grant
    being checked, oauth.grants).

    It never asks the token store for a token and never marks a shop for reinstall on a 401:
    the grant may belong to another shop than the one it claims. A token FlickRocket calls
    expired is not refreshed; it is refused (``NeedsReinstall``) like any other 401.
    """

    def token(stale: str | None) -> str:
        if stale is not None:
            raise fr.NeedsReinstall(status=401)
        return access_token

    return fr.FlickRocketClient(
        base_url=settings.FLICKROCKET_API_BASE,
        webhooks_path=settings.FLICKROCKET_WEBHOOKS_PATH,
        token=token,
        policy=policy("page"),
        on_refused=lambda reason: None,
    )


def authorize_url(*, scopes: Iterable[str], state: str) -> str:
    return fr.authorize_url(
        auth_base=settings.FLICKROCKET_AUTH_BASE,
        client_id=settings.FLICKROCKET_CLIENT_ID,
        redirect_uri=settings.APP_BASE_URL + "/oauth/callback",
        scopes=scopes,
        state=state,
    )


def exchange_refresh_token(refresh_token: str) -> fr.TokenGrant:
    return fr.exchange_refresh_token(
        refresh_token,
        auth_base=settings.FLICKROCKET_AUTH_BASE,
        client_id=settings.FLICKROCKET_CLIENT_ID,
        transport=fr.Transport(policy("worker", max_attempts=1)),
    )
