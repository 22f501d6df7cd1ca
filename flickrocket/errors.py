"""Everything FlickRocket can do to a call, as types (docs/flickrocket.md, "Rate limit").

``Error`` is the base of every error whose ``str()`` is written for a shop owner. The app's own
``frapp.errors.AppError`` *is* this class (an alias), so the dependency runs one way: the app
imports the platform package, never the reverse, and an ``except AppError`` in a view still
catches every ``FlickRocketError``.

``Transient`` is the one base for answers that may be different a moment later (unavailable,
rate limited, garbled): callers write ``except Transient`` and keep what they had.
"""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """An error fit to show: ``str()`` and ``message`` are for a shop owner, not a developer.

    ``field_errors`` maps form fields to messages so a view can put each one next to its input.
    """

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class FlickRocketError(Error):
    """Base for everything the platform can do to us. ``retryable`` says if later can help."""

    retryable = False
    default_message = "FlickRocket refused the request."

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        field_errors: dict[str, list[str]] | None = None,
    ):
        super().__init__(message or self.default_message, field_errors=field_errors)
        self.status = status


class RequestFailed(FlickRocketError):
    """A call FlickRocket refused or could not answer; a page explains it in place.

    Install and permission problems (``NotInstalled``, ``NeedsReinstall``, ``Forbidden``) are
    not among them: they turn the whole page into the install or missing-permission page
    (oauth.decorators.embedded_view), so views catch this class and let those pass by.
    """


class NotInstalled(FlickRocketError):
    default_message = "This app is not installed for this shop yet."


class NeedsReinstall(FlickRocketError):
    default_message = "FlickRocket no longer accepts this app's permission. Please reinstall it."


class NotFound(RequestFailed):
    default_message = "FlickRocket does not know this item."


class Forbidden(FlickRocketError):
    """403: the installation lacks the permission (scope) this call needs.

    ``scope`` is the permission the refused path belongs to (docs/flickrocket.md), or None when
    the path is not one the platform ties to a scope.
    """

    default_message = "The app lacks the permission for this. Reinstall it to grant it."

    def __init__(self, message: str = "", *, status: int | None = 403, scope: str | None = None):
        super().__init__(message, status=status)
        self.scope = scope


class Invalid(RequestFailed):
    default_message = "FlickRocket refused the values."

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = 422,
        field_errors: dict[str, list[str]] | None = None,
    ):
        if not message and field_errors:
            message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in field_errors.items())
        super().__init__(message, status=status, field_errors=field_errors)


class Transient(RequestFailed):
    """The answer may be different in a moment: keep what you have and try later."""


class Unavailable(Transient):
    retryable = True
    default_message = "FlickRocket is not answering right now."


class RateLimited(Transient):
    retryable = True
    default_message = "FlickRocket asks us to slow down; the change will be sent shortly."

    def __init__(self, message: str = "", *, retry_after: float = 1.0, status: int | None = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class BadResponse(Transient):
    # Not retryable by itself: the same call may well get the same garbled answer. It is
    # Transient because what a page had before is still the best thing to show.
    default_message = "FlickRocket sent an answer this app does not understand."


def scope_for_path(path: str, *, webhooks_path: str = "/admin/webhooks") -> str | None:
    """The permission a FlickRocket path needs, from the path alone (no base URL).

    Webhook subscriptions live at ``webhooks_path`` (the live client's) or ``/api/webhooks``
    (the documented one); both need ``webhooks``.
    """
    path = path.split("?", 1)[0]
    if path.startswith("/api/fulfillments"):
        return "orders"
    if path.startswith("/api/prices"):
        return "products"
    if path.startswith((webhooks_path.rstrip("/") or "/api/webhooks", "/api/webhooks")):
        return "webhooks"
    return None


def error_for(
    status: int, body: Any, path: str = "", *, webhooks_path: str = "/admin/webhooks"
) -> FlickRocketError:
    """The typed error for a refused call (any 4xx but 401 and 429, or a final 5xx).

    ``path`` is the refused call's path without the base URL; a 403 names the permission it
    needs (``Forbidden.scope``) from it.
    """
    errors = body.get("errors") if isinstance(body, dict) else None
    text = errors if isinstance(errors, str) else ""
    if status == 401:
        return NeedsReinstall(status=status)
    if status == 403:
        return Forbidden(text, status=status, scope=scope_for_path(path, webhooks_path=webhooks_path))
    if status == 404:
        return NotFound(text, status=status)
    if status in (400, 409, 422):
        if isinstance(errors, dict):
            fields = {
                str(key): [str(m) for m in (value if isinstance(value, list) else [value])]
                for key, value in errors.items()
            }
            return Invalid(status=status, field_errors=fields)
        return Invalid(text, status=status)
    if status >= 500:
        return Unavailable(f"FlickRocket answered with an error ({status}).", status=status)
    return RequestFailed(text or f"FlickRocket answered {status}.", status=status)
