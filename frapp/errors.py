"""The one error services raise. ``str()`` is written for a shop owner, not a developer.

``field_errors`` maps form fields to messages so a view can put each one next to its input.

It is the platform package's ``flickrocket.errors.Error`` under the app's name: every
``FlickRocketError`` is an ``AppError`` too, so a view that catches ``AppError`` and shows its
message also covers whatever FlickRocket refused, while ``flickrocket`` never imports the app.
"""

from contextlib import contextmanager

from django.http import Http404

from flickrocket.errors import Error as AppError
from flickrocket.errors import NotFound, RequestFailed

__all__ = ["AppError", "refusals_as_app_errors"]


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
