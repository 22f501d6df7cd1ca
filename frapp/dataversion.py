"""Each company's data version, kept by the database itself.

Triggers on every table that holds a company's rows bump ``frapp.CompanyDataVersion`` in the
same transaction as the change, whatever made it: a model's ``save()``, a queryset's
``update()`` or ``delete()``, a cascade, raw SQL, another process. Kept pages
(``frapp.pagecache``) compare this one number instead of re-reading what they show.

The triggers are dropped before every ``migrate`` and installed again after it, from the models
as they are then: a new table with a ``company_id`` (or a foreign key to such a table) is
covered without anyone remembering to, a changed table gets triggers that match it, SQLite's
table rebuilds never trip over a trigger naming the table being rebuilt, and after a migrate
back to before the version table there are none left to fail every write.

On PostgreSQL a row trigger only notes the row's company in a transaction-local setting; the
bump happens at commit (a deferred constraint trigger), once per company, in ascending company
order. Bumped any earlier, the version row's lock would be held while the transaction went on
to lock other rows; bumped in write order, two transactions touching two shops could lock their
version rows in opposite orders. Either way, deadlocks. Until the commit a transaction's own
writes have not moved the version: ``frapp.pagecache`` never serves or keeps a page inside one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connections

TABLE = "frapp_companydataversion"
PREFIX = "frapp_version_"
_READ = f'SELECT "version" FROM "{TABLE}" WHERE "company_id" = %s'  # noqa: S608 (a constant)

# Tables with a company's rows that no kept page shows, left out on purpose. Every webhook
# delivery (a forged one included: refusals are recorded under the company they claim) would
# otherwise throw away the shop's kept pages, and the receiver's one write would become two.
# New orders reach the pages through CompanyOutbox.list_version, which is covered.
UNVERSIONED = frozenset({"webhooks_webhookdelivery"})


@dataclass(frozen=True)
class Target:
    """A table whose rows belong to a company: directly (``company_id``) or through a parent."""

    table: str
    parent_table: str = ""
    parent_key: str = ""  # this table's column pointing at the parent
    parent_pk: str = ""

    def company_of(self, row: str) -> str:
        """SQL for the company of the NEW or OLD row (``row``)."""
        if not self.parent_table:
            return f"{row}.company_id"
        # Table and column names come from the models' _meta, never from input.
        return (
            f'(SELECT "company_id" FROM "{self.parent_table}" '  # noqa: S608
            f'WHERE "{self.parent_pk}" = {row}."{self.parent_key}")'
        )


def _has_company(model) -> bool:
    return any(f.concrete and f.column == "company_id" for f in model._meta.local_fields)


def targets() -> list[Target]:
    """Every table of our apps that holds a company's rows, from the models."""
    found = []
    for model in apps.get_models():
        table = model._meta.db_table
        if not model.__module__.startswith(("frapp.", "oauth.", "fulfillment.")):
            continue
        if table == TABLE or table in UNVERSIONED or not model._meta.managed or model._meta.proxy:
            continue
        if _has_company(model):
            found.append(Target(table))
            continue
        for field in model._meta.local_fields:
            parent = getattr(field, "related_model", None)
            if field.many_to_one and parent is not None and _has_company(parent):
                found.append(
                    Target(
                        table,
                        parent_table=parent._meta.db_table,
                        parent_key=field.column,
                        parent_pk=parent._meta.pk.column,
                    )
                )
                break
    return sorted(found, key=lambda t: t.table)


def expected_triggers(vendor: str) -> set[str]:
    ops = ("note", "bump") if vendor == "postgresql" else ("insert", "update", "delete")
    return {f"{PREFIX}{t.table}_{op}" for t in targets() for op in ops}


def installed_triggers(*, using: str = "default") -> set[str]:
    """Names of the version triggers in the database."""
    return {name for name, _ in _installed(connections[using])}


def is_complete(*, using: str = "default") -> bool:
    """The version table exists and every table that needs a trigger has it."""
    connection = connections[using]
    if TABLE not in connection.introspection.table_names():
        return False
    return expected_triggers(connection.vendor) <= installed_triggers(using=using)


def drop_triggers(*, using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for name, table in _installed(connection):
            if connection.vendor == "postgresql":
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
            else:
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT proname FROM pg_proc WHERE proname LIKE %s OR proname = 'frapp_bump_company_version'",
                [PREFIX + "%"],
            )
            for (function,) in cursor.fetchall():
                cursor.execute(f'DROP FUNCTION IF EXISTS "{function}"() CASCADE')


def install_triggers(*, using: str = "default") -> None:
    """Drop and create every version trigger, from the models as they are now."""
    connection = connections[using]
    drop_triggers(using=using)
    existing = set(connection.introspection.table_names())
    if TABLE not in existing:
        return  # migrated back to before the version table: nothing may write to it
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_BUMP)
        # After a migrate back to an older state some tables do not exist (yet).
        for target in (t for t in targets() if t.table in existing):
            for statement in _statements(connection.vendor, target):
                cursor.execute(statement)


def current_version(company_id: int, *, using: str = "default") -> int:
    """One primary-key read on a plain cursor: this runs on every kept page's view."""
    with connections[using].cursor() as cursor:
        cursor.execute(_READ, [company_id])
        row = cursor.fetchone()
    return row[0] if row else 0


def _installed(connection) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE %s",
                [PREFIX + "%"],
            )
        else:
            cursor.execute(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [PREFIX + "%"],
            )
        return list(cursor.fetchall())


def _statements(vendor: str, target: Target):
    if vendor == "postgresql":
        yield from _postgresql(target)
    elif vendor == "sqlite":
        yield from _sqlite(target)
    else:  # pragma: no cover - settings allow only these two
        raise NotImplementedError(f"no data version triggers for {vendor}")


def _bump_sqlite(company: str) -> str:
    # "WHERE ... IS NOT NULL" both skips rows without a company and lets SQLite parse the upsert.
    return (
        f'INSERT INTO "{TABLE}" ("company_id", "version") SELECT {company}, 1 '
        f"WHERE {company} IS NOT NULL "
        'ON CONFLICT ("company_id") DO UPDATE SET "version" = "version" + 1;'
    )


def _sqlite(target: Target):
    # SQLite has one writer at a time: bumping at once cannot deadlock.
    new, old = target.company_of("NEW"), target.company_of("OLD")
    name = f"{PREFIX}{target.table}"
    yield f'CREATE TRIGGER "{name}_insert" AFTER INSERT ON "{target.table}" BEGIN {_bump_sqlite(new)} END'
    yield (
        f'CREATE TRIGGER "{name}_update" AFTER UPDATE ON "{target.table}" BEGIN '
        f"{_bump_sqlite(new)} "
        f"{_bump_sqlite(f'(CASE WHEN {old} IS NOT {new} THEN {old} END)')} END"
    )
    yield f'CREATE TRIGGER "{name}_delete" AFTER DELETE ON "{target.table}" BEGIN {_bump_sqlite(old)} END'


# The companies a transaction wrote to, as ",1202,4711," in a setting local to the transaction
# (rolled back with it, and with a rolled-back savepoint).
_NOTED = "frapp.version_companies"

_PG_BUMP = """
CREATE OR REPLACE FUNCTION frapp_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    noted text := coalesce(current_setting('frapp.version_companies', true), '');
    company bigint;
BEGIN
    IF noted = '' THEN
        RETURN NULL;  -- an earlier firing in this commit bumped them all
    END IF;
    PERFORM set_config('frapp.version_companies', '', true);
    FOR company IN
        SELECT DISTINCT noted_id::bigint
        FROM unnest(string_to_array(trim(BOTH ',' FROM noted), ',')) AS noted_id
        ORDER BY 1
    LOOP
        INSERT INTO frapp_companydataversion (company_id, version) VALUES (company, 1)
            ON CONFLICT (company_id) DO UPDATE SET version = frapp_companydataversion.version + 1;
    END LOOP;
    RETURN NULL;
END
$$;
"""


def _pg_note(company: str) -> str:
    return f"""
        company := {company};
        IF company IS NOT NULL AND position(',' || company || ',' IN noted) = 0 THEN
            noted := noted || company || ',';
        END IF;"""


def _postgresql(target: Target):
    function = f"{PREFIX}note_{target.table}"
    yield f"""
CREATE OR REPLACE FUNCTION "{function}"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    noted text := coalesce(nullif(current_setting('{_NOTED}', true), ''), ',');
    company bigint;
BEGIN
    IF TG_OP <> 'DELETE' THEN{_pg_note(target.company_of("NEW"))}
    END IF;
    IF TG_OP <> 'INSERT' THEN{_pg_note(target.company_of("OLD"))}
    END IF;
    PERFORM set_config('{_NOTED}', noted, true);
    RETURN NULL;
END
$$;
"""
    name = f"{PREFIX}{target.table}"
    yield (
        f'CREATE TRIGGER "{name}_note" AFTER INSERT OR UPDATE OR DELETE ON "{target.table}" '
        f'FOR EACH ROW EXECUTE FUNCTION "{function}"()'
    )
    yield (
        f'CREATE CONSTRAINT TRIGGER "{name}_bump" AFTER INSERT OR UPDATE OR DELETE ON "{target.table}" '
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {PREFIX}bump()"
    )
