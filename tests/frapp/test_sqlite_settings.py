"""SQLite as the web processes and workers share it: WAL, IMMEDIATE writes, a busy timeout, and a
connection kept across requests instead of opened for each."""

import pytest
from django.db import close_old_connections, connection

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite settings only")


def test_sqlite_connection_uses_wal_immediate_writes_and_a_busy_timeout(db):
    options = connection.settings_dict["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_sqlite_connection_outlives_a_request(transactional_db):
    """Opening one costs the PRAGMAs and Django's function registrations on every request."""
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    connection.ensure_connection()
    opened = connection.connection
    close_old_connections()  # what Django runs when a request starts and ends
    assert connection.connection is opened
