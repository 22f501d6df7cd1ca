"""The installation the current page view already read (``oauth.decorators.embedded_view``).

The token store reads its access token from it while that token is fresh, instead of reading
the same row again for each FlickRocket call of the view: one query less on every page that
calls FlickRocket. Anything else (a stale token, an exchange, another shop) reads the database.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

_installation: ContextVar = ContextVar("current_installation", default=None)


@contextmanager
def serving(installation):
    token = _installation.set(installation)
    try:
        yield
    finally:
        _installation.reset(token)


def installation_of(company_id: int):
    """The view's installation when it is this company's, else None."""
    installation = _installation.get()
    return installation if installation is not None and installation.company_id == company_id else None


def forget() -> None:
    """After an exchange the view's copy holds the old tokens."""
    _installation.set(None)
