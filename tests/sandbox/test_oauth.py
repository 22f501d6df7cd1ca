"""§2: consent page, one-use refresh tokens, expiry, tokeninfo, revoke."""

import time
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import requests

AUTH_PARAMS = {
    "client_id": "fr-fulfillment",
    "scope": "orders,products,webhooks",
    "access_type": "offline",
    "redirect_uri": "http://localhost:8000/oauth/callback",
    "state": "st-123",
}


def _consent(sandbox, decision, company=1305, **overrides):
    form = {**AUTH_PARAMS, **overrides, "company": company, "decision": decision}
    return requests.post(sandbox.url + "/oauth2/auth", data=form, allow_redirects=False, timeout=10)


def test_consent_page_shows_scopes_and_defaults_to_last_shell_company(sandbox):
    requests.get(sandbox.url + "/shell/1410/apps", params={"user": "6002"}, timeout=10)
    page = requests.get(sandbox.url + "/oauth2/auth", params=AUTH_PARAMS, timeout=10)
    assert page.status_code == 200
    assert "<code>webhooks</code>" in page.text
    assert '<option value="1410" selected>' in page.text
    by_param = requests.get(sandbox.url + "/oauth2/auth", params={**AUTH_PARAMS, "company": 1202}, timeout=10)
    assert '<option value="1202" selected>' in by_param.text


def test_approve_redirects_with_code_companyid_and_state(sandbox):
    response = _consent(sandbox, "approve")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "localhost:8000" and location.path == "/oauth/callback"
    query = parse_qs(location.query)
    assert query["companyid"] == ["1305"]
    assert query["state"] == ["st-123"]
    code = query["code"][0]
    token = sandbox.exchange(code)
    assert token.status_code == 200
    assert token.json()["scope"] == "orders,products,webhooks"
    state = {c["id"]: c for c in sandbox.state()["companies"]}
    assert state[1305]["installed"] and state[1305]["grant"]["scope"] == "orders,products,webhooks"


def test_approve_without_state_sends_no_state(sandbox):
    params = {k: v for k, v in AUTH_PARAMS.items() if k != "state"}
    form = {**params, "company": 1202, "decision": "approve"}
    response = requests.post(sandbox.url + "/oauth2/auth", data=form, allow_redirects=False)
    assert "state" not in parse_qs(urlsplit(response.headers["Location"]).query)


def test_deny_redirects_with_access_denied(sandbox):
    response = _consent(sandbox, "deny")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["st-123"]}
    assert not any(c["installed"] for c in sandbox.state()["companies"])


def test_consent_rejects_unknown_client_and_foreign_redirect_uri(sandbox):
    for bad in ({"client_id": "someone-else"}, {"redirect_uri": "https://evil.example/cb"}):
        page = requests.get(sandbox.url + "/oauth2/auth", params={**AUTH_PARAMS, **bad})
        assert page.status_code == 400
        assert _consent(sandbox, "approve", **bad).status_code == 400


def test_unknown_scope_redirects_with_invalid_scope(sandbox):
    page = requests.get(
        sandbox.url + "/oauth2/auth",
        params={**AUTH_PARAMS, "scope": "orders,root"},
        allow_redirects=False,
    )
    assert page.status_code == 302
    assert parse_qs(urlsplit(page.headers["Location"]).query)["error"] == ["invalid_scope"]


def test_token_response_shape(sandbox):
    before = time.time()
    response = sandbox.exchange(sandbox.grant(1202, "orders,products"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {
        ".expires",
        ".issued",
        "access_token",
        "access_type",
        "as:client_id",
        "expires_in",
        "refresh_token",
        "scope",
        "token_type",
        "userName",
    }
    assert body["expires_in"] == 1799
    assert body["token_type"] == "bearer" and body["access_type"] == "offline"
    assert body["as:client_id"] == "fr-fulfillment"
    assert body["userName"] == "anna.schmidt@northwind-records.example"
    issued = parsedate_to_datetime(body[".issued"]).timestamp()
    expires = parsedate_to_datetime(body[".expires"]).timestamp()
    assert abs(issued - before) < 5 and expires - issued == 1799
    assert body[".expires"].endswith(" GMT")


def test_refresh_token_is_good_for_one_exchange(sandbox):
    code = sandbox.grant(1202)
    first = sandbox.exchange(code)
    assert first.status_code == 200
    second = sandbox.exchange(code)
    assert second.status_code == 400
    assert second.json() == {"error": "invalid_grant"}
    # The new refresh token works once, too.
    rotated = first.json()["refresh_token"]
    assert sandbox.exchange(rotated).status_code == 200
    assert sandbox.exchange(rotated).json() == {"error": "invalid_grant"}
    assert sandbox.calls()["token_exchanges"] == 2


def test_token_errors(sandbox):
    code = sandbox.grant(1202)
    assert sandbox.exchange(code, client_id="nope").json() == {"error": "invalid_client"}
    assert sandbox.exchange("not-a-token").json() == {"error": "invalid_grant"}
    wrong_grant = requests.post(
        sandbox.url + "/token",
        data={"grant_type": "password", "refresh_token": code, "client_id": "fr-fulfillment"},
    )
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    # None of that consumed the code.
    assert sandbox.exchange(code).status_code == 200


def test_access_token_expires_after_lifetime(sandbox):
    sandbox.settings(token_lifetime=1)
    body = sandbox.exchange(sandbox.grant(1202)).json()
    assert body["expires_in"] == 1
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(sandbox.url + "/api/fulfillments/count.json", headers=headers).ok
    time.sleep(1.1)
    expired = requests.get(sandbox.url + "/api/fulfillments/count.json", headers=headers)
    assert expired.status_code == 401
    assert expired.json() == {"error": "expired"}


def test_expire_tokens_control(sandbox):
    token = sandbox.access_token(1202)
    other = sandbox.access_token(1305)
    assert sandbox.expire_tokens(1202) == 1
    get = lambda t: requests.get(  # noqa: E731
        sandbox.url + "/api/prices/count.json", headers={"Authorization": f"Bearer {t}"}
    )
    assert get(token).json() == {"error": "expired"}
    assert get(other).status_code == 200


def test_401_shapes(sandbox):
    url = sandbox.url + "/api/fulfillments.json"
    assert requests.get(url).json() == {"error": "access_token required"}
    bad = requests.get(url, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json() == {"error": "invalid access_token"}


def test_tokeninfo(sandbox):
    token = sandbox.access_token(1410, "orders,webhooks")
    info = requests.get(sandbox.url + "/api/tokeninfo", params={"access_token": token}).json()
    assert info["issued_to"] == "fr-fulfillment"
    assert info["user_id"] == "yuki.tanaka@kyoto-prints.example"
    assert set(info["scope"].split(",")) == {"orders", "webhooks"}
    assert info["access_type"] == "offline"
    assert isinstance(info["expires_in"], str) and 1790 <= int(info["expires_in"]) <= 1799
    missing = requests.get(sandbox.url + "/api/tokeninfo")
    assert missing.status_code == 401 and missing.json() == {"error": "access_token required"}


def test_revoke_kills_tokens_and_sends_app_uninstalled(sandbox, api, receiver):
    client = api(1202)
    created = client.post(
        "/admin/webhooks.json", {"webhook": {"topic": "app/uninstalled", "address": receiver.url}}
    )
    assert created.status_code == 201
    rotated_code = sandbox.grant(1202)  # an unused refresh token, too
    other_company = api(1305)
    sandbox.revoke(1202)
    assert client.get("/api/fulfillments/count.json").json() == {"error": "invalid access_token"}
    assert sandbox.exchange(rotated_code).json() == {"error": "invalid_grant"}
    assert other_company.get("/api/fulfillments/count.json").status_code == 200
    (delivery,) = receiver.wait(1)
    assert delivery["json"]["scope"] == "app/uninstalled"
    assert delivery["json"]["data"] == {"type": "app", "id": "fr-fulfillment"}
    assert delivery["json"]["company_id"] == 1202
    assert sandbox.revoke(1202)["deliveries"] == []  # not installed any more: no second notice


def test_shell_revoke_button(sandbox, api):
    client = api(1305)
    response = requests.post(sandbox.url + "/shell/1305/revoke", data={"user": "5120"}, allow_redirects=False)
    assert response.status_code == 302
    assert client.get("/api/prices.json").status_code == 401
