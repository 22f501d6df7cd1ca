"""``/_control/``: a JSON API for tests and benchmarks to drive the sandbox.

No auth, no bucket, no faults, not in the call log: it is the test harness's hand
on the platform, not a platform API.
"""

import functools
import json
from urllib.parse import urlencode

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import webhooks
from sandbox.signing import launch_hmac
from sandbox.state import FAULT_DEFAULTS, SETTINGS_SPEC, STORE, coerce_faults

DEFAULT_SCOPE = "orders,products,webhooks"


class BadRequest(Exception):
    pass


def control(methods):
    """JSON in, JSON out; BadRequest and setting errors become 400s."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, **kwargs):
            if request.method not in methods:
                return JsonResponse({"error": f"use {' or '.join(methods)}"}, status=405)
            try:
                body = json.loads(request.body) if request.body else {}
            except ValueError:
                return JsonResponse({"error": "body is not valid JSON"}, status=400)
            if not isinstance(body, dict):
                return JsonResponse({"error": "body must be a JSON object"}, status=400)
            try:
                with STORE.lock:
                    result = view(request, body, **kwargs)
            except BadRequest as exc:
                return JsonResponse({"error": str(exc)}, status=400)
            except (KeyError, ValueError, TypeError) as exc:
                return JsonResponse({"error": f"bad value: {exc}"}, status=400)
            return JsonResponse(result, json_dumps_params={"ensure_ascii": False})

        return wrapper

    return decorate


def _company_id(value) -> int:
    company = STORE.company(value)
    if company is None:
        raise BadRequest(f"unknown company_id {value!r}; known: {sorted(STORE.companies)}")
    return company["id"]


def state_view():
    return {
        "settings": dict(STORE.settings),
        "faults": dict(STORE.faults),
        "companies": [
            {
                "id": c["id"],
                "name": c["name"],
                "users": c["users"],
                "installed": STORE.installed(c["id"]) is not None,
                "grant": STORE.installed(c["id"]),
                "orders": len(STORE.fulfillments.get(c["id"], {})),
                "prices": len(STORE.prices.get(c["id"], {})),
            }
            for c in STORE.companies.values()
        ],
        "hooks": [
            dict(
                webhooks.public_hook(h),
                company_id=h["company_id"],
                failures=h["failures"],
                queued=len(h["queue"]),
            )
            for h in STORE.hooks.values()
        ],
        "tokens": {"access": len(STORE.access_tokens), "refresh": len(STORE.refresh_tokens)},
        "setting_names": sorted(SETTINGS_SPEC),
        "fault_names": sorted(FAULT_DEFAULTS),
    }


@control(["POST"])
def reset(request, body):
    try:
        STORE.reset(body)
    except KeyError as exc:
        raise BadRequest(f"unknown setting {exc}; known: {sorted(SETTINGS_SPEC)}") from None
    return state_view()


@control(["GET"])
def state(request, body):
    return state_view()


@control(["GET", "POST"])
def faults(request, body):
    if request.method == "POST":
        STORE.faults = coerce_faults(body)  # replaces the whole set; {} clears
    return {"faults": dict(STORE.faults)}


@control(["POST"])
def settings(request, body):
    try:
        STORE.update_settings(body)
    except KeyError as exc:
        raise BadRequest(f"unknown setting {exc}; known: {sorted(SETTINGS_SPEC)}") from None
    return {"settings": dict(STORE.settings)}


@control(["GET"])
def calls(request, body):
    return STORE.call_summary()


@control(["POST"])
def calls_clear(request, body):
    STORE.clear_calls()
    return {"cleared": True}


@control(["POST"])
def grant(request, body):
    company_id = _company_id(body.get("company_id"))
    scope = body.get("scope", DEFAULT_SCOPE)
    scope = ",".join(s.strip() for s in scope.split(",") if s.strip())
    user_name = STORE.user_name_for(company_id, body.get("user_id"))
    return {
        "code": STORE.grant(company_id, scope, user_name),
        "company_id": company_id,
        "scope": scope,
    }


@control(["POST"])
def revoke(request, body):
    company_id = _company_id(body.get("company_id"))
    tokens, deliveries = webhooks.uninstall(company_id)
    return {"revoked_tokens": tokens, "deliveries": deliveries}


@control(["POST"])
def orders(request, body):
    company_id = _company_id(body.get("company_id"))
    fields = {k: v for k, v in body.items() if k != "company_id"}
    order = STORE.create_order(company_id, fields)
    return {"fulfillment": order, "deliveries": webhooks.fire_order_created(order)}


@control(["POST"])
def events(request, body):
    """Fire any topic with any data (e.g. customer/update) for the app's hooks."""
    company_id = _company_id(body.get("company_id"))
    topic = webhooks.canonical_topic(body.get("topic"))
    if topic is None or not isinstance(body.get("data"), dict):
        raise BadRequest("need a valid topic and a data object")
    return {"deliveries": webhooks.fire(company_id, topic, body["data"])}


@control(["GET"])
def fulfillments(request, body, company_id):
    company_id = _company_id(company_id)
    return {"fulfillments": list(STORE.fulfillments[company_id].values())}


@control(["GET"])
def deliveries(request, body):
    hook_id = request.GET.get("hook_id")
    return {"deliveries": webhooks.deliveries_view(int(hook_id) if hook_id else None)}


@control(["POST"])
def expire_tokens(request, body):
    company_id = _company_id(body["company_id"]) if body.get("company_id") is not None else None
    return {"expired": STORE.expire_tokens(company_id)}


@control(["GET"])
def sign_launch(request, body):
    """Sign any pair, seeded or not: tests use it for launch URLs the shell would never make."""
    company = STORE.company(request.GET.get("company_id"))
    user_id = request.GET.get("user_id") or (company["users"][0]["user_id"] if company else "")
    try:
        company_id = int(request.GET.get("company_id", ""))
    except ValueError:
        raise BadRequest("company_id must be an integer") from None
    if not user_id:
        raise BadRequest("user_id is required for a company that is not seeded")
    return {
        "url": signed_start_url(company_id, user_id),
        "company_id": company_id,
        "user_id": user_id,
    }


def signed_start_url(company_id: int, user_id: str) -> str:
    """The app's Start URL with §1's UserID, CompanyID and hmac (values URL-encoded)."""
    secret = STORE.settings["client_secret"]
    query = urlencode(
        {
            "UserID": user_id,
            "CompanyID": str(company_id),
            "hmac": launch_hmac(secret, user_id, str(company_id)),
        }
    )
    start = STORE.settings["app_start_url"]
    return start + ("&" if "?" in start else "?") + query
