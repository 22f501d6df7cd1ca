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
