"""The human side: a small imitation of the FlickRocket admin around the app's iframe,
plus the sandbox's own tools (webhooks, faults, call log, reset)."""

import time
from urllib.parse import urlencode

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox import webhooks
from sandbox.control import DEFAULT_SCOPE, signed_start_url
from sandbox.state import STORE, coerce_faults


def _company_or_404(company_id):
    company = STORE.company(company_id)
    if company is None:
        raise Http404("unknown company")
    return company


def index(request):
    with STORE.lock:
        companies = list(STORE.companies.values())
        settings = dict(STORE.settings)
    return render(request, "sandbox/index.html", {"companies": companies, "settings": settings})


def apps(request, company_id):
    """Extensions / Manage Apps: the app's Start URL, signed, in an iframe."""
    with STORE.lock:
        company = _company_or_404(company_id)
        user_id = request.GET.get("user") or company["users"][0]["user_id"]
        user = next((u for u in company["users"] if u["user_id"] == user_id), None)
        if user is None:
            raise Http404("unknown user for this company")
        # The consent page defaults to the company whose admin was opened last.
        STORE.last_shell = {"company_id": company["id"], "user_id": user_id}
        frame_url = signed_start_url(company["id"], user_id)
        grant = STORE.installed(company["id"])
        settings = dict(STORE.settings)
    install_url = settings["app_authorization_url"]
    install_url += ("&" if "?" in install_url else "?") + urlencode({"scope": DEFAULT_SCOPE})
    return render(
        request,
        "sandbox/apps.html",
        {
            "company": company,
            "user": user,
            "frame_url": frame_url,
            "grant": grant,
            "settings": settings,
            "install_url": install_url,
            "nav": "apps",
        },
    )


def tools(request, company_id):
    """Webhooks with delivery history, faults, call log, orders, reset."""
    with STORE.lock:
        company = _company_or_404(company_id)
        hooks = []
        for hook in webhooks.hooks_of(company["id"], STORE.settings["client_id"]):
            hooks.append(
                {
                    **webhooks.public_hook(hook),
                    "failures": hook["failures"],
                    "queued": len(hook["queue"]),
                    "deliveries": webhooks.deliveries_view(hook["id"])[:20],
                }
            )
        summary = STORE.call_summary()
        recent = summary["calls"][-30:][::-1]
        for call in recent:
            call["when"] = time.strftime("%H:%M:%S", time.localtime(call["t"]))
        orders = list(STORE.fulfillments[company["id"]].values())
        context = {
            "company": company,
            "hooks": hooks,
            "faults": dict(STORE.faults),
            "grant": STORE.installed(company["id"]),
            "by_endpoint": sorted(summary["by_endpoint"].items()),
            "recent_calls": recent,
            "token_exchanges": summary["token_exchanges"],
            "rate_limited": summary["rate_limited"],
            "total_calls": len(summary["calls"]),
            "open_count": sum(1 for o in orders if o["status"] == 0),
            "order_count": len(orders),
            "latest_orders": orders[-5:][::-1],
            "settings": dict(STORE.settings),
            "user_id": request.GET.get("user", ""),
            "nav": "tools",
        }
    return render(request, "sandbox/tools.html", context)


def _back(request, company_id, view="sandbox-tools"):
    url = reverse(view, args=[company_id])
    user = request.POST.get("user")
    return HttpResponseRedirect(url + ("?" + urlencode({"user": user}) if user else ""))


@csrf_exempt
@require_POST
def revoke(request, company_id):
    with STORE.lock:
        company = _company_or_404(company_id)
        webhooks.uninstall(company["id"])
    return _back(request, company["id"], request.POST.get("back", "sandbox-apps"))


@csrf_exempt
@require_POST
def create_order(request, company_id):
    with STORE.lock:
        company = _company_or_404(company_id)
        order = STORE.create_order(company["id"])
        webhooks.fire_order_created(order)
    return _back(request, company["id"])


@csrf_exempt
@require_POST
def set_faults(request, company_id):
    form = request.POST
    data = {}
    try:
        for key in ("latency_ms", "timeout_seconds"):
            if form.get(key):
                data[key] = float(form[key])
        for key in ("error_rate", "timeout_rate", "apply_then_fail_rate"):
            if form.get(key):
                data[key] = float(form[key])
        if form.get("error_codes"):
            data["error_codes"] = [int(c) for c in form["error_codes"].replace(" ", "").split(",") if c]
        data["outage"] = form.get("outage") == "on"
        data["error_rate_writes_only"] = form.get("error_rate_writes_only") == "on"
        if form.get("clear"):
            data = {}
        faults = coerce_faults(data)
    except ValueError as exc:
        return render(
            request,
            "sandbox/error.html",
            {"title": "Bad fault value", "message": str(exc)},
            status=400,
        )
    with STORE.lock:
        STORE.faults = faults
    return _back(request, company_id)


@csrf_exempt
@require_POST
def reactivate_hook(request, company_id, hook_id):
    with STORE.lock:
        hook = STORE.hooks.get(hook_id)
        if hook:
            webhooks.update_hook(hook, {"is_active": True})
    return _back(request, company_id)


@csrf_exempt
@require_POST
def clear_calls(request, company_id):
    with STORE.lock:
        STORE.clear_calls()
    return _back(request, company_id)


@csrf_exempt
@require_POST
def reset(request):
    # Reseed but keep the settings in force (the control API's reset goes back to env defaults).
    with STORE.lock:
        current = dict(STORE.settings)
    STORE.reset(current)
    return HttpResponseRedirect(reverse("sandbox-index"))
