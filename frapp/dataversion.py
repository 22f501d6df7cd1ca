"""Each company's data version, kept by the database itself.

Triggers on every table that holds a company's rows bump ``frapp.CompanyDataVersion`` in the
same transaction as the change, whatever made it: a model's ``save()``, a queryset's
``update()`` or ``delete()``, a cascade, raw SQL, another process. Kept pages
(``frapp.pagecache``) compare this one number instead of re-reading what they show.

The triggers are (re)installed after every ``migrate`` from the models as they are then, so a
new table with a ``company_id`` (or a foreign key to such a table) is covered without anyone
remembering to, and a table that SQLite's schema editor rebuilt (which drops its triggers)
gets them back.

On PostgreSQL the bump runs at commit (a deferred constraint trigger): taken any earlier, the
version row's lock would be held while the transaction went on to lock other rows, and two
transactions of one shop could deadlock. Until the commit, a transaction's own writes have not
bumped the version: ``frapp.pagecache`` never serves or keeps a page inside a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import connections

TABLE = "frapp_companydataversion"
PREFIX = "frapp_version_"
_READ = f'SELECT "version" FROM "{TABLE}" WHERE "company_id" = %s'  # noqa: S608 (a constant)


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
        module = model.__module__
        if not module.startswith(("frapp.", "oauth.", "fulfillment.")) or model._meta.db_table == TABLE:
            continue
        if not model._meta.managed or model._meta.proxy:
            continue
        if _has_company(model):
            found.append(Target(model._meta.db_table))
            continue
        for field in model._meta.local_fields:
            parent = getattr(field, "related_model", None)
            if field.many_to_one and parent is not None and _has_company(parent):
                found.append(
                    Target(
                        model._meta.db_table,
                        parent_table=parent._meta.db_table,
                        parent_key=field.column,
                        parent_pk=parent._meta.pk.column,
                    )
                )
                break
    return sorted(found, key=lambda t: t.table)


def install_triggers(*, using: str = "default") -> None:
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
        # After a migrate back to an older state some tables do not exist (yet).
        for target in (t for t in targets() if t.table in existing):
            for statement in _statements(connection.vendor, target, cursor):
                cursor.execute(statement)


def installed_triggers(*, using: str = "default") -> set[str]:
    """Names of the version triggers in the database (for the check that none is missing)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s", [PREFIX + "%"])
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [PREFIX + "%"]
            )
        return {row[0] for row in cursor.fetchall()}


def expected_triggers() -> set[str]:
    return {f"{PREFIX}{t.table}_{op}" for t in targets() for op in ("insert", "update", "delete")}


def current_version(company_id: int, *, using: str = "default") -> int:
    """One primary-key read on a plain cursor: this runs on every kept page's view."""
    with connections[using].cursor() as cursor:
        cursor.execute(_READ, [company_id])
        row = cursor.fetchone()
    return row[0] if row else 0


def _statements(vendor: str, target: Target, cursor):
    if vendor == "postgresql":
        yield from _postgresql(target, cursor)
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
    new, old = target.company_of("NEW"), target.company_of("OLD")
    name = f"{PREFIX}{target.table}"
    yield (
        f'CREATE TRIGGER IF NOT EXISTS "{name}_insert" AFTER INSERT ON "{target.table}" BEGIN '
        f"{_bump_sqlite(new)} END"
    )
    yield (
        f'CREATE TRIGGER IF NOT EXISTS "{name}_update" AFTER UPDATE ON "{target.table}" BEGIN '
        f"{_bump_sqlite(new)} "
        f"{_bump_sqlite(f'(CASE WHEN {old} IS NOT {new} THEN {old} END)')} END"
    )
    yield (
        f'CREATE TRIGGER IF NOT EXISTS "{name}_delete" AFTER DELETE ON "{target.table}" BEGIN '
        f"{_bump_sqlite(old)} END"
    )


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION frapp_bump_company_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    companies bigint[] := ARRAY[]::bigint[];
    company bigint;
    parent_row jsonb;
BEGIN
    -- TG_ARGV: '' for a table with company_id, else parent table, foreign key column, parent pk.
    FOREACH parent_row IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END,
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END
    ] LOOP
        CONTINUE WHEN parent_row IS NULL;
        IF TG_ARGV[0] = '' THEN
            company := (parent_row->>'company_id')::bigint;
        ELSE
            EXECUTE format('SELECT company_id FROM %I WHERE %I = $1', TG_ARGV[0], TG_ARGV[2])
                INTO company USING (parent_row->>TG_ARGV[1])::bigint;
        END IF;
        IF company IS NOT NULL AND NOT company = ANY(companies) THEN
            companies := companies || company;
            INSERT INTO frapp_companydataversion (company_id, version) VALUES (company, 1)
                ON CONFLICT (company_id) DO UPDATE SET version = frapp_companydataversion.version + 1;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
"""


def _postgresql(target: Target, cursor):
    args = (
        f"'{target.parent_table}', '{target.parent_key}', '{target.parent_pk}'"
        if target.parent_table
        else "''"
    )
    for op in ("insert", "update", "delete"):
        name = f"{PREFIX}{target.table}_{op}"
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", [name])
        if cursor.fetchone():
            continue
        yield (
            f'CREATE CONSTRAINT TRIGGER "{name}" AFTER {op.upper()} ON "{target.table}" '
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION frapp_bump_company_version({args})"
        )
