"""The data version triggers against migrations: dropped before every migrate and installed
again after it, so later migrations, rollbacks and changed tables keep working."""

import pytest
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connection

from frapp.dataversion import current_version, expected_triggers, installed_triggers
from fulfillment.imports.models import CsvImport
from fulfillment.outbox.models import PendingUpdate
from fulfillment.packing.models import Verification
from tests.factories import make_pending_update

pytestmark = pytest.mark.django_db(transaction=True)


def _widened(model, name: str):
    """The field as a later migration's AlterField would make it (a longer max_length)."""
    old = model._meta.get_field(name)
    new = old.clone()
    new.max_length = old.max_length + 1
    new.set_attributes_from_name(name)
    new.model = model
    return old, new


@pytest.mark.skipif("connection.vendor != 'sqlite'")
@pytest.mark.parametrize(
    ("model", "field"),
    [(PendingUpdate, "last_error"), (CsvImport, "filename"), (Verification, "user_id")],
    ids=["outbox_pendingupdate", "imports_csvimport", "packing_verification"],
)
def test_a_later_migration_can_still_alter_a_field_of_a_table_whose_children_have_version_triggers(
    model, field
):
    """SQLite's schema editor rebuilds a table for AlterField (new__t, copy, DROP t, RENAME
    new__t TO t). A child table's version trigger names the parent table in its body, and SQLite
    checks every trigger when a table is renamed: "error in trigger ...: no such table"."""
    if not any(f.name == field for f in model._meta.local_fields):
        pytest.skip(f"{model.__name__} has no {field}")
    old, new = _widened(model, field)
    try:
        # As ``migrate`` runs a migration: its pre_migrate signal first, post_migrate after.
        emit_pre_migrate_signal(verbosity=0, interactive=False, db="default")
        with connection.schema_editor() as editor:
            editor.alter_field(model, old, new)
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
        make_pending_update(1202)  # and the triggers work on the rebuilt table
        assert installed_triggers() == expected_triggers(connection.vendor)
    finally:
        # Back to the schema the other tests expect, whatever happened above.
        try:
            with connection.schema_editor() as editor:
                editor.alter_field(model, new, old)
        except Exception:  # noqa: BLE001 - the first alter failed and rolled back: nothing to undo
            pass
        call_command("migrate", verbosity=0)


def test_after_rolling_frapp_back_to_zero_the_shop_can_still_write():
    """``migrate frapp zero`` (undoing this release) drops frapp_companydataversion, but the
    triggers on every other table stay and write into it: every write to a company's rows fails."""
    call_command("migrate", "frapp", "zero", verbosity=0)
    try:
        make_pending_update(1202)  # any write: queueing, sending, receiving
    finally:
        with connection.cursor() as cursor:
            for name in installed_triggers():
                table = name.removeprefix("frapp_version_").rsplit("_", 1)[0]
                cursor.execute(
                    f'DROP TRIGGER IF EXISTS "{name}"'
                    + (f' ON "{table}"' if connection.vendor == "postgresql" else "")
                )
        call_command("migrate", verbosity=0)
    assert installed_triggers() == expected_triggers(connection.vendor)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_renamed_foreign_key_column_still_moves_the_parents_company_version(monkeypatch):
    """On PostgreSQL a child table's trigger carries the foreign key's column name as an argument,
    fixed when it was created; ``install_triggers`` skips a trigger whose name exists, so after a
    RenameField the trigger reads a column that no longer exists (NULL) and never bumps. The
    check (installed == expected) compares names only and still passes."""
    from fulfillment.outbox.models import UpdateEvent

    update = make_pending_update(1202)
    # What a RenameField("update" -> "parent_update") migration does on PostgreSQL, and the
    # model as the release that carries it describes the column.
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE outbox_updateevent RENAME COLUMN "update_id" TO "parent_update_id"')
    monkeypatch.setattr(UpdateEvent._meta.get_field("update"), "column", "parent_update_id")
    try:
        call_command("migrate", verbosity=0)  # what a release runs after its migrations
        assert installed_triggers() == expected_triggers(connection.vendor)
        before = current_version(1202)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO outbox_updateevent (parent_update_id, kind, detail, at) "
                "VALUES (%s, 'sent', '', now())",
                [update.pk],
            )
        assert current_version(1202) == before + 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE outbox_updateevent RENAME COLUMN "parent_update_id" TO "update_id"')


def test_a_bulk_delete_moves_each_companys_version_once_on_postgresql():
    """A prune deletes many rows in one statement. On PostgreSQL every bump is an update of one
    locked row at commit, so each company is bumped once per transaction (on SQLite, with one
    writer at a time, a bump per row costs microseconds and no lock)."""
    from fulfillment.outbox.models import AuditEntry

    AuditEntry.objects.bulk_create(
        [AuditEntry(company_id=1202, order_id=i, user_id="4711", source="single") for i in range(500)]
    )
    before = current_version(1202)
    AuditEntry.objects.filter(company_id=1202).delete()
    moved = current_version(1202) - before
    assert moved == 1 if connection.vendor == "postgresql" else moved == 500


@pytest.mark.parametrize(
    ("app", "previous"),
    [
        ("imports", "0001_initial"),
        ("orders", "0001_initial"),
        ("outbox", "0001_initial"),
        ("webhooks", "0001_initial"),
    ],
)
def test_an_existing_migration_rolls_back_and_forward_again_with_the_triggers_installed(app, previous):
    call_command("migrate", app, previous, verbosity=0)
    call_command("migrate", verbosity=0)
    assert installed_triggers() == expected_triggers(connection.vendor)
