"""The database going away under a running app (a PostgreSQL restart drops every connection)."""

import psycopg
import pytest
import requests
from django.db import connection

from tests.workers import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


def drop_every_connection_to_the_test_database() -> int:
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as admin:
        return admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [settings["NAME"]],
        ).fetchone()[0]


def test_gunicorn_keeps_answering_after_the_database_drops_every_connection():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL restart; SQLite has no server to restart")
    with AppServer(CONN_MAX_AGE=600) as app:
        for _ in range(8):  # warm persistent connections in both workers
            assert requests.get(app.url + "/healthz", timeout=10).status_code == 200
        assert drop_every_connection_to_the_test_database() >= 1
        connection.close()  # ours was dropped too
        statuses = [requests.get(app.url + "/healthz", timeout=10).status_code for _ in range(8)]
    # Each worker notices its dead connection at the start of a request and reconnects.
    assert statuses == [200] * 8
