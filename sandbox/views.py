"""The platform's machine-facing side: OAuth consent, /token, /api and /admin.

Every /api and /admin call goes through ``api_call``, which applies, in order:
latency fault, outage, bearer auth (401), the leaky bucket (429), the scope (403),
the error/timeout/lost-answer faults, the handler, and finally the call-limit header
and the call log. Keeping that pipeline in one place is what makes the log and the
header trustworthy for every response.
"""

import functools
import json
import re
import time
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from sandbox import webhooks
from sandbox.state import KNOWN_SCOPES, STORE, WRITE_METHODS

PAGE_SIZE = 50
MAX_TRACKING = 64
STATUSES = (0, 100)


def jresp(data, status=200, headers=None) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def errors(message_or_fields, status) -> JsonResponse:
    """§3 error shape: ``{"errors": "text"}`` or ``{"errors": {"field": ["text"]}}``."""
    return jresp({"errors": message_or_fields}, status)


def read_json(request):
    """(body, None) or (None, 400 response)."""
    try:
        return json.loads(request.body or b"null"), None
    except (ValueError, UnicodeDecodeError):
        return None, errors("Body is not valid JSON", 400)


def endpoint_name(request) -> str:
    """``GET /api/fulfillments/{id}.json``: the route with its parameters folded."""
    match = request.resolver_match
    route = match.route if match else None
    if not route or "<path:" in route:
        return f"{request.method} /{route.split('<')[0] if route else ''}{{unknown}}"
    return f"{request.method} /" + re.sub(r"<(?:\w+:)?\w+>", "{id}", route)


class Ctx:
    """Who is calling: the access token's company, app, scope and user."""

    def __init__(self, token: dict):
        self.company_id = token["company_id"]
        self.client_id = token["client_id"]
        self.scope = token["scope"]  # as granted, for tokeninfo
        self.scopes = {s.strip() for s in token["scope"].split(",") if s.strip()}
        self.user_name = token["user_name"]


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    # The docs also allow the token as a query parameter.
    return request.GET.get("access_token") or None


def api_endpoint(scope: str | None, methods=("GET",)):
    """Wrap a handler ``view(request, ctx, **kwargs)`` in the platform pipeline."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, **kwargs):
            return api_call(request, view, scope, methods, kwargs)

        return wrapper

    return decorate


def api_call(request, view, scope, methods, kwargs):
    started = time.monotonic()
    generation = STORE.log_generation
    endpoint = endpoint_name(request)
    company_id, fault, limit_header = None, None, None
    with STORE.lock:
        faults = dict(STORE.faults)
    if faults["latency_ms"]:
        time.sleep(faults["latency_ms"] / 1000)

    def finish(response):
        if limit_header:
            response["X-FlickRocket-Api-Call-Limit"] = limit_header
        with STORE.lock:
            STORE.log_call(
                request.method,
                request.path,
                endpoint,
                company_id,
                response.status_code,
                fault,
                int((time.monotonic() - started) * 1000),
                generation,
            )
        return response

    if faults["outage"]:
        fault = "outage"
        return finish(errors("Service Unavailable", 503))
    with STORE.lock:
        token, problem = STORE.authenticate(bearer_token(request))
        if problem:
            return finish(jresp({"error": problem}, 401))
        ctx = Ctx(token)
        company_id = ctx.company_id
        allowed, used, size, retry_after = STORE.take_drop(ctx.company_id, ctx.client_id)
        limit_header = f"{used}/{size}"
        if not allowed:
            response = errors("Exceeded call limit", 429)
            response["Retry-After"] = str(retry_after)
            return finish(response)
        if request.method not in methods:
            response = errors("Method not allowed", 405)
            response["Allow"] = ", ".join(methods)
            return finish(response)
        if scope and scope not in ctx.scopes:
            return finish(errors(f"This call requires the '{scope}' scope", 403))
        fault = STORE.roll_fault(request.method)
        error_status = STORE.error_code() if fault == "error" else None
    if fault == "error":
        # The write is NOT applied: the platform failed before doing anything.
        return finish(errors(_reason(error_status), error_status))
    response = view(request, ctx, **kwargs)
    if fault == "lost_answer":
        if request.method in WRITE_METHODS and response.status_code < 400:
            response = errors("Bad Gateway", 502)  # applied, but the answer is lost
        else:
            fault = None
    if fault == "timeout":
        time.sleep(faults["timeout_seconds"])  # processed; the answer is just very late
    return finish(response)


def _reason(status: int) -> str:
    return {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, "Error")


def paged(request, items: list):
    """All items without ``page``; 50 a page with ``page`` or ``Page`` (1-based)."""
    raw = request.GET.get("page", request.GET.get("Page"))
    if raw is None:
        return items, None
    try:
        page = int(raw)
        if page < 1:
            raise ValueError
    except ValueError:
        return None, errors({"page": ["must be a positive integer"]}, 400)
    start = (page - 1) * PAGE_SIZE
    return items[start : start + PAGE_SIZE], None


def _iso_bound(request, name):
    """A created_at bound as the platform's naive-UTC ISO text (string-comparable)."""
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None, None
    raw = raw.strip()
    # An unencoded "+02:00" arrives as " 02:00".
    raw = re.sub(r" (\d\d:?\d\d)$", r"+\1", raw)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None, {name: ["must be an ISO 8601 date/time like 2015-07-01T00:00:00"]}
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat(), None


def filtered_fulfillments(request, ctx, status=None):
    """(list, None) or (None, error response) for the list/count calls."""
    low, err_low = _iso_bound(request, "created_at_min")
    high, err_high = _iso_bound(request, "created_at_max")
    if err_low or err_high:
        return None, errors({**(err_low or {}), **(err_high or {})}, 400)
    with STORE.lock:
        items = list(STORE.fulfillments.get(ctx.company_id, {}).values())
    if status is not None:
        items = [o for o in items if o["status"] == status]
    if low:
        items = [o for o in items if o["created_at"] >= low]
    if high:
        items = [o for o in items if o["created_at"] <= high]
    return items, None


def _list_response(request, ctx, plural, status=None):
    items, problem = filtered_fulfillments(request, ctx, status)
    if problem:
        return problem
    page, problem = paged(request, items)
    return problem or jresp({plural: page})


@api_endpoint("orders")
def fulfillments_all(request, ctx):
    return _list_response(request, ctx, "fulfillments")


@api_endpoint("orders")
def fulfillments_open(request, ctx):
    return _list_response(request, ctx, "fulfillments", status=0)


@api_endpoint("orders")
def fulfillments_complete(request, ctx):
    return _list_response(request, ctx, "fulfillments", status=100)


@api_endpoint("orders")
def fulfillments_count(request, ctx):
    items, problem = filtered_fulfillments(request, ctx)
    return problem or jresp({"count": len(items)})


@api_endpoint("orders", methods=("GET", "PUT"))
def fulfillment_one(request, ctx, fid):
    if request.method == "GET":
        with STORE.lock:
            order = STORE.fulfillments.get(ctx.company_id, {}).get(fid)
        return jresp({"fulfillment": order}) if order else errors("Not found", 404)
    body, problem = read_json(request)
    if problem:
        return problem
    with STORE.lock:
        # Existence first: another company's id must look exactly like a missing one.
        if fid not in STORE.fulfillments.get(ctx.company_id, {}):
            return errors("Not found", 404)
    if not isinstance(body, dict) or not isinstance(body.get("fulfillment"), dict):
        return errors({"fulfillment": ["is required"]}, 422)
    changes, field_errors = validate_fulfillment(body["fulfillment"])
    if field_errors:
        return errors(field_errors, 422)
    with STORE.lock:
        orders = STORE.fulfillments.get(ctx.company_id, {})
        if fid not in orders:  # a reset ran meanwhile
            return errors("Not found", 404)
        # Copy-on-write: readers may be serialising the old dict right now.
        order = orders[fid] = {**orders[fid], **changes}
    return jresp({"fulfillment": order})


def validate_fulfillment(data: dict):
    """Only tracking_number and status are writable; read-only fields are ignored."""
    changes, errs = {}, {}
    if "tracking_number" in data:
        value = data["tracking_number"]
        if value is None:
            value = ""
        if not isinstance(value, str):
            errs["tracking_number"] = ["must be a string"]
        elif len(value) > MAX_TRACKING:
            errs["tracking_number"] = [f"is too long (maximum is {MAX_TRACKING} characters)"]
        else:
            changes["tracking_number"] = value
    if "status" in data:
        value = data["status"]
        if isinstance(value, bool) or value not in STATUSES:
            errs["status"] = ["must be 0 (not shipped) or 100 (shipped)"]
        else:
            changes["status"] = value
    return changes, errs


# --------------------------------------------------------------------- prices


def _prices_of(ctx):
    with STORE.lock:
        return list(STORE.prices.get(ctx.company_id, {}).values())


@api_endpoint("products")
def prices_all(request, ctx):
    page, problem = paged(request, _prices_of(ctx))
    return problem or jresp({"prices": page})


@api_endpoint("products")
def prices_count(request, ctx):
    return jresp({"count": len(_prices_of(ctx))})


@api_endpoint("products")
def price_one(request, ctx, pid):
    with STORE.lock:
        price = STORE.prices.get(ctx.company_id, {}).get(pid)
    return jresp({"price": price}) if price else errors("Not found", 404)


# --------------------------------------------------------------------- webhooks


@api_endpoint("webhooks", methods=("GET", "POST"))
def webhooks_collection(request, ctx):
    if request.method == "GET":
        with STORE.lock:
            hooks = [webhooks.public_hook(h) for h in webhooks.hooks_of(ctx.company_id, ctx.client_id)]
        return jresp({"webhooks": hooks})
    fields, problem = _hook_body(request, partial=False)
    if problem:
        return problem
    with STORE.lock:
        dup = webhooks.duplicate_error(ctx.company_id, ctx.client_id, fields["topic"], fields["address"])
        if dup:
            return errors(dup, 422)
        hook = webhooks.create_hook(ctx.company_id, ctx.client_id, fields)
        return jresp({"webhook": webhooks.public_hook(hook)}, 201)


@api_endpoint("webhooks", methods=("GET", "PUT", "DELETE"))
def webhook_one(request, ctx, hid):
    with STORE.lock:
        hook = STORE.hooks.get(hid)
        if not hook or hook["company_id"] != ctx.company_id or hook["client_id"] != ctx.client_id:
            return errors("Not found", 404)
        if request.method == "GET":
            return jresp({"webhook": webhooks.public_hook(hook)})
        if request.method == "DELETE":
            webhooks.delete_hook(hook)
            return jresp({})
    fields, problem = _hook_body(request, partial=True)
    if problem:
        return problem
    with STORE.lock:
        hook = STORE.hooks.get(hid)
        if hook is None:
            return errors("Not found", 404)
        dup = webhooks.duplicate_error(
            ctx.company_id,
            ctx.client_id,
            fields.get("topic", hook["topic"]),
            fields.get("address", hook["address"]),
            exclude_id=hid,
        )
        if dup:
            return errors(dup, 422)
        webhooks.update_hook(hook, fields)
        return jresp({"webhook": webhooks.public_hook(hook)})


def _hook_body(request, partial):
    body, problem = read_json(request)
    if problem:
        return None, problem
    if not isinstance(body, dict) or not isinstance(body.get("webhook"), dict):
        return None, errors({"webhook": ["is required"]}, 422)
    fields, field_errors = webhooks.validate_hook(body["webhook"], partial)
    if field_errors:
        return None, errors(field_errors, 422)
    return fields, None


# --------------------------------------------------------------------- tokeninfo, fallbacks


@api_endpoint(None)
def tokeninfo(request, ctx):
    with STORE.lock:
        record = STORE.access_tokens.get(bearer_token(request) or "")
    remaining = max(0, int(record["expires"] - time.time())) if record else 0
    return jresp(
        {
            "issued_to": ctx.client_id,
            "user_id": ctx.user_name,
            "scope": ctx.scope,
            "expires_in": str(remaining),
            "access_type": "offline",
        }
    )


@api_endpoint(None, methods=("GET", "POST", "PUT", "DELETE", "PATCH"))
def api_not_found(request, ctx, rest=None):
    return errors("Not found", 404)


# --------------------------------------------------------------------- /token


def _fault_gate(request):
    """The faults that also hit /token. Returns (fault, early response or None)."""
    with STORE.lock:
        faults = dict(STORE.faults)
    if faults["latency_ms"]:
        time.sleep(faults["latency_ms"] / 1000)
    if faults["outage"]:
        return "outage", errors("Service Unavailable", 503)
    with STORE.lock:
        fault = STORE.roll_fault(request.method)
        if fault == "error":
            status = STORE.error_code()
            return fault, errors(_reason(status), status)
    return fault, None


@csrf_exempt
def token(request):
    started = time.monotonic()
    company_id = None
    fault = None

    def finish(response):
        with STORE.lock:
            STORE.log_call(
                request.method,
                request.path,
                "POST /token",
                company_id,
                response.status_code,
                fault,
                int((time.monotonic() - started) * 1000),
            )
        return response

    if request.method != "POST":
        response = jresp({"error": "invalid_request", "error_description": "POST a form"}, 405)
        response["Allow"] = "POST"
        return response
    # The form body is the contract; query parameters are accepted as a fallback for the
    # docs' odd "POST /token/grant_type=..." rendering.
    params = request.POST if request.POST else request.GET
    refresh = params.get("refresh_token", "")
    with STORE.lock:
        STORE.token_exchange_attempts += 1
        record = STORE.refresh_tokens.get(refresh)
        company_id = record["company_id"] if record else None
    fault, early = _fault_gate(request)
    if early:
        return finish(early)  # refresh token NOT consumed
    if params.get("grant_type") != "refresh_token":
        return finish(jresp({"error": "unsupported_grant_type"}, 400))
    if not refresh:
        return finish(jresp({"error": "invalid_request", "error_description": "refresh_token required"}, 400))
    with STORE.lock:
        status, body = STORE.exchange(refresh, params.get("client_id", ""))
    response = jresp(body, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})
    if fault == "lost_answer" and status == 200:
        response = errors("Bad Gateway", 502)  # consumed, and the new tokens never arrive
    elif fault == "timeout":
        time.sleep(STORE.faults["timeout_seconds"])
    elif fault == "lost_answer":
        fault = None
    return finish(response)


# --------------------------------------------------------------------- consent page


def _consent_problem(params) -> str | None:
    settings = STORE.settings
    if params.get("client_id") != settings["client_id"]:
        return "Unknown client_id: no app with this client id is registered."
    if params.get("redirect_uri") != settings["app_redirect_uri"]:
        return "redirect_uri does not match the app's registered Application Redirect URL."
    return None


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _redirect(url: str) -> HttpResponse:
    # A bare 302 rather than HttpResponseRedirect, which only allows http/https/ftp:
    # the registered redirect_uri (already checked for an exact match) may use any scheme.
    response = HttpResponse(status=302)
    response["Location"] = url
    return response


@csrf_exempt
def consent(request):
    params = request.POST if request.method == "POST" else request.GET
    with STORE.lock:
        problem = _consent_problem(params)
        companies = list(STORE.companies.values())
        default_company = STORE.company(params.get("company")) or STORE.company(
            STORE.last_shell["company_id"]
        )
        last_user = STORE.last_shell["user_id"]
    if problem:
        return render(
            request,
            "sandbox/error.html",
            {"title": "Invalid OAuth request", "message": problem},
            status=400,
        )
    scopes = [s.strip() for s in params.get("scope", "").split(",") if s.strip()]
    state = params.get("state")
    redirect_uri = params["redirect_uri"]
    echo = {"state": state} if state is not None else {}
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        return _redirect(_with_query(redirect_uri, {"error": "invalid_scope", **echo}))
    if request.method == "GET":
        return render(
            request,
            "sandbox/consent.html",
            {
                "companies": companies,
                "default_company": default_company,
                "scopes": scopes,
                "params": {
                    k: params.get(k, "")
                    for k in ("client_id", "redirect_uri", "scope", "access_type", "state")
                },
                "has_state": state is not None,
            },
        )
    if params.get("decision") != "approve":
        return _redirect(_with_query(redirect_uri, {"error": "access_denied", **echo}))
    with STORE.lock:
        company = STORE.company(params.get("company"))
        if company is None:
            return render(
                request,
                "sandbox/error.html",
                {"title": "Unknown company", "message": "Pick a company."},
                status=400,
            )
        user_id = last_user if STORE.last_shell["company_id"] == company["id"] else None
        code = STORE.grant(company["id"], ",".join(scopes), STORE.user_name_for(company["id"], user_id))
    return _redirect(_with_query(redirect_uri, {"code": code, "companyid": company["id"], **echo}))
