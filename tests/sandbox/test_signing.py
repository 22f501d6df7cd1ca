"""vectors.json: the shell's launch signer and the sandbox's webhook signer."""

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.signing import launch_hmac, webhook_concatenation, webhook_hash

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors.json").read_text())


@pytest.mark.parametrize("case", VECTORS["launch"], ids=lambda c: c.get("why", c["UserID"]))
def test_launch_vectors(case):
    computed = launch_hmac(case["secret"], case["UserID"], case["CompanyID"])
    assert (computed == case["hmac"]) is case["valid"]


@pytest.mark.parametrize("case", VECTORS["webhook"], ids=lambda c: c.get("why", c["body"]["scope"]))
def test_webhook_vectors(case):
    assert (webhook_hash(case["secret"], case["body"]) == case["body"]["hash"]) is case["valid"]
    if "concatenation" in case:
        assert webhook_concatenation(case["body"]) == case["concatenation"]


@pytest.mark.parametrize("case", VECTORS["launch"], ids=lambda c: c.get("why", c["UserID"]))
def test_running_sandbox_signs_launch_vectors(sandbox, case):
    """The serving process (not just the module) signs exactly like the vectors."""
    sandbox.settings(client_secret=case["secret"])
    url = sandbox.sign_launch(int(case["CompanyID"]), case["UserID"])
    query = parse_qs(urlsplit(url).query)
    assert query["UserID"] == [case["UserID"]] and query["CompanyID"] == [case["CompanyID"]]
    assert (query["hmac"] == [case["hmac"]]) is case["valid"]


def test_shell_iframe_is_signed_and_url_encoded(sandbox):
    """The '+', '@' and '&'-prone UserID survives URL-encoding; the hmac is over decoded values."""
    user_id = "j.mueller+shop@mueller-soehne.example"
    page = requests.get(f"{sandbox.url}/shell/1520/apps", params={"user": user_id}, timeout=10)
    assert page.status_code == 200
    match = re.search(r'<iframe id="app-frame" name="app-frame" src="([^"]+)"', page.text)
    assert match, page.text
    src = unescape(match.group(1))
    assert src.startswith("http://localhost:8000/?")
    assert "%2B" in src and "%40" in src  # '+' and '@' encoded
    query = parse_qs(urlsplit(src).query)
    assert query["UserID"] == [user_id]
    assert query["CompanyID"] == ["1520"]
    assert query["hmac"] == [launch_hmac("sandbox-app-secret", user_id, "1520")]


def test_start_url_with_existing_query(sandbox):
    sandbox.settings(app_start_url="http://localhost:8000/launch?x=1")
    url = sandbox.sign_launch(1305, "5120")
    assert url.startswith("http://localhost:8000/launch?x=1&UserID=5120&CompanyID=1305&hmac=")


def test_delivered_webhooks_verify(sandbox, api, receiver):
    """A real delivery is signed per §4 with the App Secret, in document order."""
    client = api(1202)
    client.post("/admin/webhooks.json", {"webhook": {"topic": "order/create", "address": receiver.url}})
    order = sandbox.create_order(1202)
    (request,) = receiver.wait(1)
    body = request["json"]
    assert list(body) == ["company_id", "producer", "scope", "data", "hash"]
    assert body["data"] == {"type": "order", "id": str(order["id"])}
    assert body["hash"] == webhook_hash("sandbox-app-secret", body)
    assert request["headers"]["Content-Type"] == "application/json"


def test_vector_shaped_event_is_signed_like_the_vector(sandbox, api, receiver):
    """Fire the vectors' customer/update data through the server (nested, null, bool, list)."""
    case = VECTORS["webhook"][2]
    sandbox.settings(client_secret=case["secret"])
    api(1202).post("/admin/webhooks.json", {"webhook": {"topic": "customer/update", "address": receiver.url}})
    sandbox.fire_event(1202, "customer/update", case["body"]["data"])
    (request,) = receiver.wait(1)
    body = request["json"]
    assert body["hash"] == webhook_hash(case["secret"], body)
    # Same data, different company/producer than the vector: recompute the vector's form.
    expected = dict(case["body"], company_id=1202, producer="shop")
    assert webhook_hash(case["secret"], expected) == body["hash"]
