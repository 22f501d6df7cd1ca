import logging

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect, render
from django.urls import get_script_prefix
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from flickrocket.signing import launch_is_valid
from frapp.errors import AppError
from frapp.middleware import SESSION_LANGUAGE_KEY, embedded_session_prefix

from . import flows, grants, preferences, sessions, tokens
from .decorators import embedded_view, install_page
from .forms import AuthorizeForm, CallbackForm, InstallForm, LanguageForm, LaunchForm
from .selectors import installation_for

logger = logging.getLogger(__name__)

FLOW_COOKIE = "fr_oauth_flow"
FLOW_COOKIE_SALT = "oauth.flow"
HOME = "orders:open"


@never_cache
@require_GET
def launch(request):
    """The Start URL. FlickRocket frames it with UserID, CompanyID and hmac (docs/flickrocket.md, Launch)."""
    launch_keys = {"UserID", "CompanyID", "hmac"}
    if not launch_keys & set(request.GET):
        if request.embedded and request.company_id is not None:
            return redirect(HOME)
        return render(request, "oauth/launch_error.html", {"reason": "missing"}, status=400)
    form = LaunchForm(request.GET)
    if not form.is_valid():
        logger.warning("launch refused: malformed parameters %s", sorted(form.errors))
        status = 400 if any(k not in request.GET for k in launch_keys) else 403
        return render(request, "oauth/launch_error.html", {"reason": "malformed"}, status=status)
    data = form.cleaned_data
    if not launch_is_valid(
        secret=settings.FLICKROCKET_CLIENT_SECRET,
        user_id=data["UserID"],
        company_id=data["CompanyID"],
        signature=data["hmac"],
    ):
        logger.warning("launch refused: bad signature for company %s", data["CompanyID"])
        return render(request, "oauth/launch_error.html", {"reason": "signature"}, status=403)
    company_id = int(data["CompanyID"])
    key = sessions.open_app_session(company_id=company_id, user_id=data["UserID"])
    # The owner opened the app: a code kept while FlickRocket did not answer is tried again.
    grants.settle_waiting_grants(company_id=company_id)
    return redirect(embedded_session_prefix(key))


@never_cache
@require_http_methods(["GET", "POST"])
@embedded_view(require_install=False)
def install(request):
    """GET shows what the app asks for; POST (a top-level navigation) starts OAuth.

    The POST may carry ``scope`` (comma-separated) to ask for permissions on top of the
    defaults and what the shop granted so far; unknown names are ignored.
    """
    if request.method == "GET":
        grants.settle_waiting_grants(company_id=request.company_id)
        return install_page(request, installation_for(company_id=request.company_id))
    form = InstallForm(request.POST)
    extra = form.cleaned_data["scope"] if form.is_valid() else []
    try:
        flow = flows.start_launch_install(
            company_id=request.company_id,
            user_id=request.flickrocket_user_id or "",
            extra_scopes=extra,
            client_ip=_client_ip(request),
        )
    except flows.TooManyFlows as exc:
        return _too_many_flows(request, exc)
    return _to_flickrocket(request, flow)


@never_cache
@require_GET
def authorize(request):
    """The App Store's Authorization URL: start the same flow with the scopes it passes."""
    form = AuthorizeForm(request.GET)
    form.is_valid()
    scope = form.cleaned_data.get("scope") or ""
    company = form.cleaned_data.get("CompanyID")
    # CompanyID here is unsigned: the flow belongs to no shop until the grant proves one.
    try:
        flow = flows.start_app_store_install(
            scopes=scope.replace(" ", "").split(","),
            company_hint=int(company) if company else None,
            client_ip=_client_ip(request),
        )
    except flows.TooManyFlows as exc:
        return _too_many_flows(request, exc)
    return _to_flickrocket(request, flow)


def _client_ip(request) -> str:
    """The peer's address, never a header a client could write. Behind a proxy that does not
    put the client's address there, it is the proxy's (see OAUTH_FLOWS_PER_MINUTE_PER_IP)."""
    return request.META.get("REMOTE_ADDR", "")


def _too_many_flows(request, exc):
    response = render(
        request,
        "oauth/too_many_flows.html",
        {"message": exc.message, "retry_url": settings.FLICKROCKET_ADMIN_ORIGIN + "/"},
        status=429,
    )
    response["Retry-After"] = "60"
    return response


def _to_flickrocket(request, flow):
    response = redirect(flows.install_redirect_url(flow=flow))
    # Set on a top-level navigation, so it is a first-party cookie the callback will carry,
    # whatever the browser thinks of cookies inside iframes.
    response.set_signed_cookie(
        FLOW_COOKIE,
        flow.state,
        salt=FLOW_COOKIE_SALT,
        max_age=settings.OAUTH_STATE_MAX_AGE,
        path="/oauth/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response


@never_cache
@require_GET
def callback(request):
    form = CallbackForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    bound = request.get_signed_cookie(
        FLOW_COOKIE, default=None, salt=FLOW_COOKIE_SALT, max_age=settings.OAUTH_STATE_MAX_AGE
    )
    try:
        installation = flows.complete_install(
            bound_state=bound,
            echoed_state=data.get("state") or None,
            company_id=data.get("companyid"),
            code=data.get("code"),
            error=data.get("error") or None,
        )
    except grants.InstallRefused as exc:
        logger.warning("install callback refused: %s", exc.kind)
        status = 502 if exc.kind == "unavailable" else 400 if exc.kind != "denied" else 200
        response = render(
            request,
            "oauth/callback_error.html",
            {"kind": exc.kind, "message": exc.message, "retry_url": settings.FLICKROCKET_ADMIN_ORIGIN + "/"},
            status=status,
        )
    else:
        # Installed, or held for the owner's confirmation: either way the next step is the app
        # opened from FlickRocket's admin (a pending grant shows its confirm page there).
        back = settings.FLICKROCKET_APP_ADMIN_URL.replace("{company_id}", str(installation.company_id))
        response = redirect(back)
    response.delete_cookie(FLOW_COOKIE, path="/oauth/")
    return response


@never_cache
@require_GET
@embedded_view
def connection(request):
    """What the app may do for this shop, since when, and the way to disconnect it."""
    return render(request, "oauth/connection.html", {"installation": request.installation})


@require_POST
@embedded_view(require_install=False)
def confirm_pending(request, grant_id: int):
    """One click from a verified launch makes a held App Store grant this shop's install."""
    try:
        grants.confirm_pending_grant(
            company_id=request.company_id, grant_id=grant_id, user_id=request.flickrocket_user_id or ""
        )
    except AppError as exc:
        messages.error(request, exc.message)
        return redirect("oauth:install")
    return redirect(HOME)


@require_POST
@embedded_view(require_install=False)
def discard_pending(request, grant_id: int):
    grants.discard_pending_grant(
        company_id=request.company_id, grant_id=grant_id, user_id=request.flickrocket_user_id or ""
    )
    return redirect("oauth:install")


@require_POST
@embedded_view(require_install=False)
def disconnect(request):
    tokens.disconnect(company_id=request.company_id)
    return redirect("oauth:install")


@require_POST
@embedded_view(require_install=False)
def language(request):
    """The nav's language switch: remembered for this FlickRocket user, applied from now on."""
    form = LanguageForm(request.POST)
    form.is_valid()  # each field on its own: a too-long ``next`` must not lose the language
    chosen = form.cleaned_data.get("language", "")
    chosen = preferences.choose_language(
        company_id=request.company_id, user_id=request.flickrocket_user_id or "", language=chosen
    )
    request.session[SESSION_LANGUAGE_KEY] = chosen
    back = form.cleaned_data.get("next", "")  # missing when invalid: back to the open orders
    # Only a path inside this embedded session: never another site, never outside the prefix.
    if back.startswith(get_script_prefix()) and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect(HOME)


def signed_flow_cookie(state: str) -> str:
    """The cookie value a browser holds for a flow (tests build callbacks with it)."""
    return signing.get_cookie_signer(salt=FLOW_COOKIE + FLOW_COOKIE_SALT).sign(state)
