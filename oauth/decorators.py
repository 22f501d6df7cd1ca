from functools import wraps

from django.shortcuts import render

from . import client as fr
from .selectors import installation_for, pending_grants_for


def _install_page(request, installation=None, status=200):
    """The install page; a shop without a working install that holds App Store grants waiting
    for its confirmation sees those instead, from its own verified launch only."""
    if installation is None or not installation.is_usable:
        pending = pending_grants_for(company_id=request.company_id)
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


def embedded_view(view=None, *, require_install: bool = True):
    """Only for a launched session: the company comes from the session, never from the URL.

    Pages of a company whose grant is missing or refused show the install page instead.
    """

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.embedded or request.company_id is None:
                return render(request, "oauth/session_expired.html", status=403)
            if require_install:
                installation = installation_for(company_id=request.company_id)
                if installation is None or not installation.is_usable:
                    return _install_page(request, installation)
                request.installation = installation
            try:
                return view_func(request, *args, **kwargs)
            except (fr.NotInstalled, fr.NeedsReinstall):
                return _install_page(request, installation_for(company_id=request.company_id))

        return wrapper

    return decorator(view) if view is not None else decorator
