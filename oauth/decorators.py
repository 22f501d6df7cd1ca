from functools import wraps

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django_htmx.http import reswap, retarget

import flickrocket as fr
from frapp.errors import problem_text

from . import current, grants
from .selectors import installation_for, pending_grants_for
from .sessions import PENDING_GRANT_KEY


def _install_page(request, installation=None, status=200):
    """The install page; grants waiting for this shop's confirmation are shown instead, from
    its own verified launch only: any of them while the shop has no working install, and
    those from its own Install button (never an App Store one) while it has one."""
    pending = pending_grants_for(company_id=request.company_id)
    if installation is not None and installation.is_usable:
        pending = [grant for grant in pending if grant.from_launch]
    if pending:
        return render(
            request,
            "oauth/pending.html",
            {"installation": installation, "pending_grants": pending},
            status=status,
        )
    return render(
        request,
        "oauth/install.html",
        {"installation": installation},
        status=status,
    )


install_page = _install_page


# What each permission lets the app do, in the words a page uses to ask for it.
PERMISSIONS = {
    "orders": _("the permission to read and update orders"),
    "products": _("the permission to read products and price models"),
    "webhooks": _("the permission to manage webhooks"),
}


def _opens_a_page(request) -> bool:
    return request.method == "GET" and not bool(request.htmx)


def _problem_page(request, template: str, context: dict, status: int):
    """A full page, or for htmx the fragment alone swapped into the page's main area.

    htmx does not swap 4xx/5xx answers, and the element that asked (a table, a row) is the
    wrong place for a page-wide problem: the fragment goes out as 200 and retargets ``#main``.
    """
    if bool(request.htmx):
        return reswap(retarget(render(request, f"oauth/_{template}.html", context), "#main"), "innerHTML")
    return render(request, f"oauth/{template}.html", context, status=status)


def _typed_values(request, kwargs) -> list[tuple[str, str, str]]:
    """What the owner typed into the refused form, so the page can hand it back."""
    if request.method != "POST":
        return []
    order_id = kwargs.get("order_id")
    typed = []
    for name, value in request.POST.items():
        value = value.strip()
        if not value:
            continue
        if name == "order_id":
            label = _("Order")
        elif name == "tracking_number" and order_id:
            label = _("Tracking number(s) for order %(order)s") % {"order": order_id}
        elif name == "tracking_number":
            label = _("Tracking number(s)")
        elif name.startswith("tracking_") and name.removeprefix("tracking_").isdigit():
            label = _("Tracking number(s) for order %(order)s") % {"order": name.removeprefix("tracking_")}
        elif name == "address":
            label = _("Address")
        else:
            continue
        typed.append((name, label, value))
    return typed


def missing_permission_page(request, scope: str | None, kwargs=None):
    """403: the installation lacks ``scope``; one button re-runs the install asking for it."""
    context = {
        "scope": scope,
        "permission": PERMISSIONS.get(scope, "") if scope else "",
        "typed": _typed_values(request, kwargs or {}),
    }
    return _problem_page(request, "missing_permission", context, status=403)


def request_refused_page(request, exc: fr.RequestFailed):
    """FlickRocket refused or could not answer a call no view explained in place."""
    context = {"message": problem_text(exc), "status": exc.status, "retryable": exc.retryable}
    return _problem_page(request, "request_refused", context, status=503 if exc.retryable else 502)


# Every FlickRocket error is an AppError too (frapp.errors): a view that shows an AppError from a
# service in place first lets these pass on to the edge, which turns each into its own page.
PAGE_WIDE = (fr.Forbidden, fr.NotInstalled, fr.NeedsReinstall)


def embedded_view(
    view=None, *, require_install: bool = True, scope: str | None = None, not_found: str | None = None
):
    """Only for a launched session: the company comes from the session, never from the URL.

    Pages of a company whose grant is missing or refused show the install page instead. FlickRocket
    failures become a page here, once, at the edge: a missing permission (known in advance from
    the installation's ``scope``, or from FlickRocket's 403) the missing-permission page, any
    other refusal a page that quotes FlickRocket; with ``not_found`` (a view of one item by
    its id) FlickRocket's ``NotFound`` is that item missing: a 404 with that message. Views
    catch no FlickRocket error: what a page explains in place, its service turns into a result
    or an ``AppError`` (``PAGE_WIDE`` lets the rest pass a view's ``except AppError``).
    """

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.embedded or request.company_id is None:
                return render(request, "oauth/session_expired.html", status=403)
            if require_install:
                installation = installation_for(company_id=request.company_id)
                if installation is None or not installation.is_usable:
                    # A code kept while FlickRocket did not answer is tried again now.
                    grants.settle_waiting_grants(company_id=request.company_id)
                    installation = installation_for(company_id=request.company_id)
                if installation is None or not installation.is_usable:
                    return _install_page(request, installation)
                # The session first: asking about htmx reads every request header, for the few
                # sessions that wait for a click.
                if request.session.get(PENDING_GRANT_KEY) and _opens_a_page(request):
                    # A reconnect nothing could check waits for the owner's click, shown in the app.
                    if pending_grants_for(company_id=request.company_id, from_launch_only=True):
                        return _install_page(request, installation)
                    del request.session[PENDING_GRANT_KEY]
                request.installation = installation
                granted = installation.scope_list
                # An empty list means "not recorded": FlickRocket's 403 then says it instead.
                if scope and granted and scope not in granted:
                    return missing_permission_page(request, scope, kwargs)
            try:
                with current.serving(getattr(request, "installation", None)):
                    return view_func(request, *args, **kwargs)
            except (fr.NotInstalled, fr.NeedsReinstall):
                return _install_page(request, installation_for(company_id=request.company_id))
            except fr.Forbidden as exc:
                return missing_permission_page(request, exc.scope, kwargs)
            except fr.RequestFailed as exc:
                if not_found is not None and isinstance(exc, fr.NotFound):
                    raise Http404(not_found) from None
                return request_refused_page(request, exc)

        return wrapper

    return decorator(view) if view is not None else decorator
