"""The two reads every embedded page makes before its view (the session, the shop's installation)
run as precompiled SQL (frapp/precompiled.py); they must mean exactly what the ORM reads meant."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from frapp.precompiled import PrecompiledSelect
from frapp.sessions import SessionStore
from oauth.models import Installation, PendingGrant
from oauth.selectors import installation_for
from tests.factories import make_installation

pytestmark = pytest.mark.django_db


def _stored_session(data: dict, *, expires_in: int = 600) -> str:
    store = SessionStore()
    store.update(data)
    store.set_expiry(expires_in)
    store.create()
    return store.session_key


def test_a_live_session_loads_its_data_in_one_query():
    key = _stored_session({"company_id": 1202, "user_id": "4711"})
    store = SessionStore(key)
    with CaptureQueriesContext(connection) as queries:
        assert store.get("company_id") == 1202
        assert store.get("user_id") == "4711"
    assert len(queries) == 1
    assert store.session_key == key


def test_a_session_written_by_djangos_own_engine_still_loads():
    old = DjangoSessionStore()
    old["company_id"] = 1202
    old.create()
    assert SessionStore(old.session_key).get("company_id") == 1202


def test_an_expired_session_loads_empty_and_forgets_its_key():
    key = _stored_session({"company_id": 1202})
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = SessionStore(key)
    assert store.get("company_id") is None
    assert store.session_key is None


def test_an_unknown_key_loads_empty_and_forgets_it():
    store = SessionStore("a" * 32)
    assert store.load() == {}
    assert store.session_key is None


def test_tampered_session_data_loads_empty_like_django():
    key = _stored_session({"company_id": 1202})
    Session.objects.filter(session_key=key).update(session_data="not-signed-data")
    ours, django = SessionStore(key), DjangoSessionStore(key)
    assert ours.load() == django.load() == {}
    # A row that exists keeps its key (Django's behaviour): only a missing row forgets it.
    assert ours.session_key == django.session_key == key


def test_a_changed_session_saves_through_django_and_reloads():
    key = _stored_session({"company_id": 1202})
    store = SessionStore(key)
    store["touched"] = 5
    store.save()
    assert SessionStore(key).get("touched") == 5
    assert Session.objects.count() == 1


def test_installation_read_is_the_same_instance_the_orm_reads():
    made = make_installation(1202, access_token="access")
    with CaptureQueriesContext(connection) as queries:
        lean = installation_for(company_id=1202)
    assert len(queries) == 1
    orm = Installation.objects.get(company_id=1202)
    for field in Installation._meta.concrete_fields:
        assert getattr(lean, field.attname) == getattr(orm, field.attname), field.name
    # Datetimes come back converted (aware), as the ORM's converters make them on SQLite too.
    assert lean.access_token_expires_at == made.access_token_expires_at
    assert timezone.is_aware(lean.updated_at)
    assert lean._state.adding is False
    assert lean._state.db == "default"


def test_installation_read_returns_a_row_that_saves_as_an_update():
    make_installation(1202)
    lean = installation_for(company_id=1202)
    lean.status = Installation.Status.NEEDS_REINSTALL
    lean.save(update_fields=["status"])
    lean.token_exchanges = 3
    lean.save()
    assert Installation.objects.count() == 1
    stored = Installation.objects.get(company_id=1202)
    assert (stored.status, stored.token_exchanges) == (Installation.Status.NEEDS_REINSTALL, 3)


def test_installation_read_of_another_shop_is_none():
    make_installation(1202)
    assert installation_for(company_id=1203) is None


def test_a_precompiled_select_refuses_what_it_cannot_mean_like_the_orm():
    # "= NULL" would differ from the ORM's IS NULL on a nullable column; other lookups are unknown.
    with pytest.raises(ValueError, match="NOT NULL"):
        PrecompiledSelect(PendingGrant, where=("exchanged_at",)).rows(None)
    with pytest.raises(ValueError, match="unsupported"):
        PrecompiledSelect(PendingGrant, where=("company_id__in",)).rows([1])
