import pytest

from flickrocket.signing import launch_is_valid, webhook_concatenation, webhook_is_valid
from tests.factories import VECTORS


@pytest.mark.parametrize("case", VECTORS["launch"], ids=lambda c: c.get("why", "valid"))
def test_launch_vectors_behave_as_marked(case):
    assert (
        launch_is_valid(
            secret=case["secret"],
            user_id=case["UserID"],
            company_id=case["CompanyID"],
            signature=case["hmac"],
        )
        is case["valid"]
    )


@pytest.mark.parametrize("case", VECTORS["webhook"], ids=lambda c: c.get("why", c["body"]["scope"]))
def test_webhook_vectors_behave_as_marked(case):
    assert webhook_is_valid(secret=case["secret"], body=case["body"]) is case["valid"]
    if "concatenation" in case:
        assert webhook_concatenation(case["body"]) == case["concatenation"]


def test_webhook_without_hash_is_invalid():
    body = dict(VECTORS["webhook"][0]["body"])
    del body["hash"]
    assert webhook_is_valid(secret="hush-app-secret", body=body) is False


def test_vectors_copy_matches_the_shared_contract():
    import json
    from pathlib import Path

    shared = Path(__file__).resolve().parents[3] / "shared" / "flickrocket" / "vectors.json"
    if not shared.exists():
        pytest.skip("shared contract folder not beside this checkout")
    copy = json.loads((Path(__file__).resolve().parents[1] / "vectors.json").read_text())
    original = json.loads(shared.read_text())
    # The cases must match; the "about" line names where the repository explains them.
    assert {k: copy[k] for k in ("launch", "webhook")} == {k: original[k] for k in ("launch", "webhook")}
