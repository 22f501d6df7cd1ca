"""The app's own hooks are subscribed at install and kept switched on after launches, without a
click, against the sandbox's real OAuth and webhook API."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fulfillment.webhooks.models import WebhookHealth
from fulfillment.webhooks.tasks import ensure_webhooks
from oauth.models import Installation
from tests.factories import make_installation
from tests.oauth.test_app_store_install import app_store_install
from tests.oauth.test_install import consent, start_install

pytestmark = pytest.mark.django_db

RECEIVER = "http://localhost:8000/webhooks/flickrocket"
TOPICS = ["app/uninstalled", "app/update", "order/create"]


@pytest.fixture(autouse=True)
def _app_base_url(settings):
    settings.APP_BASE_URL = "http://localhost:8000"


def hooks(sandbox, company_id=1202):
    return sorted(
        (h for h in sandbox.state()["hooks"] if h["company_id"] == company_id), key=lambda h: h["id"]
    )


def queued_checks() -> list[int]:
    return [
        r.args_kwargs["args"][0] for r in DBTaskResult.objects.filter(task_path=ensure_webhooks.module_path)
    ]


def run_queued_checks() -> list[str | None]:
    """What the worker would do: run each queued check once."""
    outcomes = [ensure_webhooks.call(company_id) for company_id in queued_checks()]
    DBTaskResult.objects.filter(task_path=ensure_webhooks.module_path).delete()
    return outcomes


def install_through_oauth(flickrocket, embedded, client, capture, company_id=1202, user_id="4711"):
    with capture(execute=True):
        callback = consent(flickrocket, start_install(embedded(company_id, user_id)), company=company_id)
        response = client.get(callback)
    assert response.status_code == 302
    assert Installation.objects.get(company_id=company_id).is_usable


def launch_later(embedded, capture, company_id=1202):
    """A launch after the check interval has passed since the last one was queued."""
    WebhookHealth.objects.filter(company_id=company_id).update(queued_at=timezone.now() - timedelta(hours=1))
    with capture(execute=True):
        return embedded(company_id)


def test_install_through_oauth_subscribes_the_three_topics_at_our_receiver_without_a_click(
    flickrocket, embedded, client, django_capture_on_commit_callbacks
):
    install_through_oauth(flickrocket, embedded, client, django_capture_on_commit_callbacks)
    assert queued_checks() == [1202]
    assert hooks(flickrocket) == []  # queued for the worker, not done in the callback request

    assert run_queued_checks() == ["repaired"]

    subscribed = hooks(flickrocket)
    assert sorted(h["topic"] for h in subscribed) == TOPICS
    assert all(h["address"] == RECEIVER and h["is_active"] for h in subscribed)
    health = WebhookHealth.objects.get(company_id=1202)
    assert health.repaired == {
        "created": ["order/create", "app/uninstalled", "app/update"],
        "reactivated": [],
    }


def test_second_install_and_a_second_run_create_no_duplicates(
    flickrocket, embedded, client, django_capture_on_commit_callbacks
):
    install_through_oauth(flickrocket, embedded, client, django_capture_on_commit_callbacks)
    run_queued_checks()
    first = hooks(flickrocket)

    install_through_oauth(flickrocket, embedded, client, django_capture_on_commit_callbacks)
    assert queued_checks() == [1202]  # every install queues, whatever the interval says
    assert run_queued_checks() == ["ok"]
    assert ensure_webhooks.call(1202) == "ok"  # a task run twice changes nothing either

    assert hooks(flickrocket) == first
    assert len(first) == 3


def test_app_store_install_subscribes_too(flickrocket, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        app_store_install(client, flickrocket, 1305)
    assert queued_checks() == [1305]
    run_queued_checks()
    assert sorted(h["topic"] for h in hooks(flickrocket, 1305)) == TOPICS


def test_launch_check_switches_a_hook_flickrocket_gave_up_on_back_on(
    flickrocket, embedded, client, django_capture_on_commit_callbacks, settings
):
    install_through_oauth(flickrocket, embedded, client, django_capture_on_commit_callbacks)
    settings.APP_BASE_URL = "http://127.0.0.1:9"  # our receiver, unreachable for a while
    run_queued_checks()
    flickrocket.settings(time_scale=0.000005, delivery_timeout=0.5)
    flickrocket.create_order(1202)
    assert flickrocket.wait_for(
        lambda: not next(h for h in hooks(flickrocket) if h["topic"] == "order/create")["is_active"],
        timeout=15,
    )
    flickrocket.clear_calls()

    shop = launch_later(embedded, django_capture_on_commit_callbacks)
    calls = flickrocket.calls()["calls"]
    assert not [c for c in calls if "webhooks" in c["path"]]  # the launch itself asks nothing
    assert run_queued_checks() == ["repaired"]

    assert len(hooks(flickrocket)) == 3 and all(h["is_active"] for h in hooks(flickrocket))
    health = WebhookHealth.objects.get(company_id=1202)
    assert health.repaired == {"created": [], "reactivated": ["order/create"]}
    page = shop.get("subscriptions/").content.decode()
    assert 'id="webhook-health"' in page and "Repaired automatically at" in page
    assert "switched back on <code>order/create</code>" in page


def test_two_launches_within_the_interval_queue_one_check(
    installed, embedded, flickrocket, django_capture_on_commit_callbacks
):
    installed(1202)
    with django_capture_on_commit_callbacks(execute=True):
        embedded(1202)
        embedded(1202, "4712")
    assert queued_checks() == [1202]

    run_queued_checks()
    with django_capture_on_commit_callbacks(execute=True):
        embedded(1202)
    assert queued_checks() == []  # still within WEBHOOK_HEALTH_CHECK_INTERVAL

    launch_later(embedded, django_capture_on_commit_callbacks)
    assert queued_checks() == [1202]


def test_interval_is_a_setting(
    installed, embedded, flickrocket, django_capture_on_commit_callbacks, settings
):
    installed(1202)
    settings.WEBHOOK_HEALTH_CHECK_INTERVAL = 0
    with django_capture_on_commit_callbacks(execute=True):
        embedded(1202)
        embedded(1202)
    assert queued_checks() == [1202, 1202]


def test_launch_of_a_shop_without_the_app_queues_nothing(
    flickrocket, embedded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        embedded(1202)
    assert queued_checks() == []


def test_missing_webhooks_scope_is_recorded_without_asking_or_raising(
    flickrocket, client, embedded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        app_store_install(client, flickrocket, 1305, scope="orders,products")
    flickrocket.clear_calls()

    assert run_queued_checks() == ["missing_permission"]

    assert not [c for c in flickrocket.calls()["calls"] if "webhooks" in c["path"]]
    assert hooks(flickrocket, 1305) == []
    page = embedded(1305, "5120").get("subscriptions/")
    assert page.status_code == 403
    assert "needs the permission to manage webhooks (<code>webhooks</code>)" in page.content.decode()


def test_flickrocket_403_on_webhooks_is_recorded_as_missing_permission_not_an_error(flickrocket, db):
    # Installed without `webhooks`, but the scopes were not recorded: FlickRocket's 403 says it.
    make_installation(1202, refresh_token=flickrocket.grant(1202, "orders,products"), scopes="")

    assert ensure_webhooks.call(1202) == "missing_permission"
    assert ensure_webhooks.call(1202) == "missing_permission"  # again: recorded, no exception

    health = WebhookHealth.objects.get(company_id=1202)
    assert health.error == "This app was installed without the permission to manage webhooks."
    assert health.ok_at is None


def test_a_failed_check_is_shown_with_its_reason(shop, flickrocket):
    flickrocket.faults(outage=True)
    assert ensure_webhooks.call(1202) == "failed"
    flickrocket.faults()

    page = shop.get("subscriptions/").content.decode()
    assert "The automatic check at" in page and "failed:" in page
    assert WebhookHealth.objects.get(company_id=1202).error in page


def test_all_subscribed_and_active_shows_green(shop, flickrocket):
    assert ensure_webhooks.call(1202) == "repaired"
    assert ensure_webhooks.call(1202) == "ok"
    page = shop.get("subscriptions/").content.decode()
    assert 'class="alert alert-success py-2" role="status" id="webhook-health"' in page
    assert "every topic this app needs is subscribed and active" in page


def test_a_check_already_running_elsewhere_is_not_run_twice(shop, flickrocket):
    WebhookHealth.objects.update_or_create(
        company_id=1202, defaults={"checking_until": timezone.now() + timedelta(minutes=1)}
    )
    assert ensure_webhooks.call(1202) is None
    assert hooks(flickrocket) == []
