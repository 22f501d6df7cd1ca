"""One-row reads that every page view makes, as SQL compiled once instead of on each call.

For a read by key, the ORM's compilation (the WHERE tree, the select list, ``.first()``'s
ordering, the converters) costs about ten times what SQLite takes to run the statement, and
every embedded page makes two such reads before its view starts (the session and the shop's
installation). A ``PrecompiledSelect`` builds its statement from the model's ``_meta`` the first
time a connection runs it and then only binds new values. Values go through the field's own
``get_db_prep_value`` and results through the backend's and the field's converters, exactly as
the ORM does, so the same statement works on SQLite and PostgreSQL and the instances it returns
(``Model.from_db``) are ordinary ORM instances: saved rows, not new ones.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from django.db import connections, router
from django.db.models.fetch_modes import FETCH_ONE
from django.utils.functional import cached_property

# What the statement may compare; the rest of the ORM's lookups have no place in a keyed read.
OPERATORS = {"exact": "=", "gt": ">"}


class PrecompiledSelect:
    """``SELECT <columns> FROM <table> WHERE <field> <op> %s AND ...`` for one model.

    ``where`` names the fields and lookups in the order their values are passed to ``rows``;
    ``columns`` are field names (default: every concrete field, which ``instance`` needs).
    """

    def __init__(self, model, *, where: tuple[str, ...], columns: tuple[str, ...] | None = None):
        self.model = model
        self._where_spec = where
        self._columns_spec = columns
        # Per connection object: its quoting for the SQL, its operations for the converters.
        self._compiled = WeakKeyDictionary()

    @cached_property
    def _shape(self):
        # Resolved on first use, not at import: modules holding a select may load before the apps.
        meta = self.model._meta
        names = self._columns_spec
        fields = tuple(meta.get_field(name) for name in names) if names else tuple(meta.concrete_fields)
        where = tuple(_lookup(meta, spec) for spec in self._where_spec)
        return fields, where, [field.attname for field in fields]

    def rows(self, *values) -> list[tuple]:
        """The matching rows, converted to Python values, on the model's read database."""
        connection = connections[router.db_for_read(self.model)]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(connection)
        sql, converters = compiled
        where = self._shape[1]
        bound = zip(where, values, strict=True)
        params = [field.get_db_prep_value(value, connection) for (field, _), value in bound]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not converters:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for index, functions, expression in converters:
                value = row[index]
                for function in functions:
                    value = function(value, expression, connection)
                row[index] = value
            converted.append(tuple(row))
        return converted

    def instance(self, *values):
        """The first matching row as a model instance, or None (for a read by a unique key)."""
        rows = self.rows(*values)
        if not rows:
            return None
        attnames = self._shape[2]
        return self.model.from_db(router.db_for_read(self.model), attnames, rows[0], fetch_mode=FETCH_ONE)

    def _compile(self, connection):
        fields, where, _ = self._shape
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        columns = ", ".join(f"{table}.{quote(field.column)}" for field in fields)
        conditions = " AND ".join(
            f"{table}.{quote(field.column)} {OPERATORS[lookup]} %s" for field, lookup in where
        )
        # Only names from the model's _meta, quoted by the backend; values are bound as %s.
        sql = f"SELECT {columns} FROM {table} WHERE {conditions}"  # noqa: S608
        converters = []
        for index, field in enumerate(fields):
            expression = field.get_col(self.model._meta.db_table)
            functions = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
            if functions:
                converters.append((index, functions, expression))
        return sql, converters


def _lookup(meta, spec: str):
    name, _, lookup = spec.partition("__")
    lookup = lookup or "exact"
    field = meta.get_field(name)
    if lookup not in OPERATORS:
        raise ValueError(f"unsupported lookup in a precompiled select: {spec}")
    # The ORM turns "= None" into IS NULL; on a column that is never NULL both match nothing.
    if field.null:
        raise ValueError(f"a precompiled select compares NOT NULL columns only: {spec}")
    return field, lookup
