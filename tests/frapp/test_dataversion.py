"""The company data version (frapp/dataversion.py): the database moves it on every write to a
company's rows, whatever path the write takes. Transactional: on PostgreSQL the bump happens
at commit."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from frapp.dataversion import current_version, expected_triggers, install_triggers, installed_triggers
from fulfillment.outbox.models import AuditEntry, PendingUpdate, UpdateEvent
from fulfillment.packing.models import PackingSettings
from tests.factories import make_pending_update

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_table_holding_a_companys_rows_has_its_triggers():
    expected = expected_triggers(connection.vendor)
    ops = ("note", "bump") if connection.vendor == "postgresql" else ("insert", "update", "delete")
    for table in ("outbox_pendingupdate", "outbox_updateevent", "orders_listcache", "oauth_installation"):
        assert {f"frapp_version_{table}_{op}" for op in ops} <= expected
    assert not any("frapp_companydataversion" in name or "webhookdelivery" in name for name in expected)
    assert installed_triggers() == expected


def test_insert_update_and_delete_move_only_that_companys_version():
    update = make_pending_update(1202)
    after_insert = current_version(1202)
    assert after_insert >= 1
    PendingUpdate.objects.filter(pk=update.pk).update(last_error="x")  # no signal, no save()
    assert current_version(1202) == after_insert + 1
    PendingUpdate.objects.filter(pk=update.pk).delete()
    assert current_version(1202) > after_insert + 1
    assert current_version(4711) == 0


def test_a_row_without_company_of_its_own_moves_its_parents_company():
    update = make_pending_update(1202)
    before = current_version(1202)
    UpdateEvent.objects.create(update=update, kind="sent", detail="")
    assert current_version(1202) == before + 1


def test_raw_sql_moves_the_version_too():
    PackingSettings.objects.create(company_id=1202)
    before = current_version(1202)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE packing_packingsettings SET verify_items = %s WHERE company_id = %s", [True, 1202]
        )
    assert current_version(1202) == before + 1


def test_a_transaction_moves_the_version_when_it_commits_and_not_when_it_rolls_back():
    before = current_version(1202)
    with pytest.raises(RuntimeError), transaction.atomic():
        AuditEntry.objects.create(company_id=1202, order_id=1, user_id="4711", source="single")
        raise RuntimeError
    assert current_version(1202) == before
    with transaction.atomic():
        AuditEntry.objects.create(company_id=1202, order_id=1, user_id="4711", source="single")
        AuditEntry.objects.create(company_id=1202, order_id=2, user_id="4711", source="single")
    assert current_version(1202) >= before + 1


def test_a_dropped_trigger_comes_back_with_the_next_migrate():
    name = "frapp_version_outbox_pendingupdate_" + ("note" if connection.vendor == "postgresql" else "update")
    with connection.cursor() as cursor:
        cursor.execute(
            f'DROP TRIGGER "{name}"'
            + (" ON outbox_pendingupdate" if connection.vendor == "postgresql" else "")
        )
    assert name not in installed_triggers()
    call_command("migrate", verbosity=0)
    assert installed_triggers() == expected_triggers(connection.vendor)
    install_triggers()  # and installing twice changes nothing
    assert installed_triggers() == expected_triggers(connection.vendor)
