"""Launch sessions: the short-lived app session a verified launch opens for one company and
user (docs/flickrocket.md, "Launch"; README, "How the embedded session works without
third-party cookies").
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.utils import timezone

from frapp.middleware import SESSION_LANGUAGE_KEY

from . import signals
from .preferences import chosen_language
from .selectors import pending_grants_for

# Set at launch when a reconnect waits for the owner's click: pages then look for it, and only
# then (a query on every page would cost every shop for what a few see once).
PENDING_GRANT_KEY = "pending_grant"


def open_app_session(*, company_id: int, user_id: str) -> str:
    """A fresh, short-lived session bound to one company and user; returns its key."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["company_id"] = int(company_id)
    store["user_id"] = str(user_id)
    store["touched"] = int(timezone.now().timestamp())
    # The first list after a launch is read from FlickRocket, not from our short cache: an
    # owner who just removed and reopened the app must not see a list the app may no longer read.
    store["fresh_launch"] = True
    # The user's language choice rides in the session: applying it costs no query per request.
    language = chosen_language(company_id=int(company_id), user_id=str(user_id))
    if language:
        store[SESSION_LANGUAGE_KEY] = language
    if pending_grants_for(company_id=int(company_id), from_launch_only=True):
        store[PENDING_GRANT_KEY] = True
    store.set_expiry(settings.APP_SESSION_IDLE_SECONDS)
    store.create()
    signals.app_launched.send(sender=open_app_session, company_id=int(company_id))
    return store.session_key
