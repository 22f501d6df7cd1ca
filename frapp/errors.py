"""The one error services raise. ``str()`` is written for a shop owner, not a developer.

``field_errors`` maps form fields to messages so a view can put each one next to its input.

It is the platform package's ``flickrocket.errors.Error`` under the app's name: every
``FlickRocketError`` is an ``AppError`` too, so a view that catches ``AppError`` and shows its
message also covers whatever FlickRocket refused, while ``flickrocket`` never imports the app.

The platform package speaks English only; ``problem_text`` is the one place that turns one of
its errors into a text in the user's language, by the error's type.
"""

import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.http import Http404
from django.utils.translation import gettext

from flickrocket import errors as fr
from flickrocket.errors import Error as AppError
from flickrocket.errors import NotFound, RequestFailed

__all__ = ["AppError", "problem_text", "refusals_as_app_errors"]


@dataclass(frozen=True)
class Unavailable:
    """A page's result when FlickRocket refused or did not answer and the app keeps no copy to
    show instead: the page says so, in the owner's words."""

    problem: str


def retry_ends_at(exc: Exception) -> float | None:
    """Until when asking FlickRocket again is pointless (a ``time.time()``): its Retry-After,
    when ``exc`` is a 429; None for any other failure."""
    if isinstance(exc, fr.RateLimited):
        return time.time() + exc.retry_after
    return None


def problem_text(exc: Exception) -> str:
    """What a page says about ``exc``, in the active language."""
    if isinstance(exc, fr.RateLimited):
        return gettext("FlickRocket asks us to slow down; try again in a moment.")
    if isinstance(exc, fr.Unavailable):
        return gettext("FlickRocket cannot be reached right now.")
    if isinstance(exc, fr.BadResponse):
        return gettext("FlickRocket sent an answer we could not read.")
    if isinstance(exc, fr.NotFound):
        return gettext("FlickRocket does not know this item.")
    if isinstance(exc, fr.WrongCompany):
        return gettext(
            "FlickRocket answered with another shop's orders, so this app's permission does not "
            "belong to this shop. Please reinstall the app from your own FlickRocket admin."
        )
    if isinstance(exc, fr.NeedsReinstall):
        return gettext("FlickRocket no longer accepts this app's permission. Please reinstall it.")
    if isinstance(exc, fr.NotInstalled):
        return gettext("This app is not installed for this shop yet.")
    if isinstance(exc, fr.Forbidden):
        return gettext("The app lacks the permission for this. Reinstall it to grant it.")
    if isinstance(exc, fr.FlickRocketError):
        # FlickRocket's own words (a refused value, say) are quoted: only FlickRocket has them.
        if str(exc) and str(exc) not in {fr.FlickRocketError.default_message, fr.Invalid.default_message}:
            return gettext("FlickRocket refused this: %(text)s") % {"text": str(exc)}
        return gettext("FlickRocket refused the request.")
    return str(exc)  # the app's own errors are translated where they are raised


@contextmanager
def refusals_as_app_errors(*, not_found: str | None = None):
    """For a service whose page shows FlickRocket's refusal in place (next to its form, or as a
    message): ``RequestFailed`` leaves as a plain ``AppError`` with the same message and field
    errors. With ``not_found``, a ``NotFound`` (the id does not exist) is a 404 instead.

    Install and permission problems are not refusals: they pass on to the edge (embedded_view).
    """
    try:
        yield
    except NotFound as exc:
        if not_found is not None:
            raise Http404(not_found) from None
        raise AppError(exc.message, field_errors=exc.field_errors) from exc
    except RequestFailed as exc:
        raise AppError(exc.message, field_errors=exc.field_errors) from exc
