"""No log line carries an embedded session key or a line someone forged, in any configuration.

Each case runs the app in its own process (tests/frapp/log_probe.py) behind Django's development
server, so Django's own loggers (``django.request``, ``django.security.csrf``, ``django.server``,
SQL debug lines) write exactly as they would, through the app's LOGGING or Django's default.
"""

import json
import re
import subprocess
import sys

import pytest

from tests.workers import ROOT, process_env

CASES = {
    "plain, DEBUG": {"LOG_FORMAT": "plain", "DEBUG": "true"},
    "plain": {"LOG_FORMAT": "plain", "DEBUG": "false"},
    "json": {"LOG_FORMAT": "json", "DEBUG": "false"},
    "Django's default LOGGING, DEBUG": {
        "DJANGO_SETTINGS_MODULE": "tests.frapp.default_logging_settings",
        "DEBUG": "true",
    },
    "Django's default LOGGING": {
        "DJANGO_SETTINGS_MODULE": "tests.frapp.default_logging_settings",
        "DEBUG": "false",
    },
}


def run_probe(env: dict) -> tuple[dict, str]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.frapp.log_probe"],
        cwd=ROOT,
        env=process_env(LOG_LEVEL="DEBUG", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_no_log_line_carries_a_session_key_or_a_forged_line(case):
    report, logs = run_probe(CASES[case])
    assert report["status"] == {
        "not_found": 404,
        "csrf": 403,
        "server_error": 500,
        "expired": 403,
        "forged_crlf": 404,
        "forged_separators": 404,
        "key_in_query": 404,
    }
    # The logs did capture Django's own lines about these requests.
    assert "Not Found" in logs and "Forbidden (CSRF" in logs and "deliveries failed for" in logs
    assert "/s/***/no-such-page/" in logs

    for key in report["keys"]:
        assert key not in logs, case
    assert not re.search(r"/s/[a-z0-9]{8}", logs)

    # str.splitlines() breaks at every character a terminal or log viewer might: none of them
    # may start a line of its own.
    forged = [line for line in logs.splitlines() if line.lstrip("\"' ").startswith("INFO fake line")]
    assert forged == []
    shown = logs
    if CASES[case].get("LOG_FORMAT") == "json":  # one JSON object a line, every line
        records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        loggers = {r["logger"] for r in records}
        assert loggers >= {"frapp.request", "django.request", "django.security.csrf", "django.server"}
        shown = "\n".join(r["message"] + r.get("exc", "") for r in records)
    assert "/foo\\r\\nINFO fake line" in shown and "\\u2028INFO fake line\\x85" in shown


@pytest.mark.django_db(transaction=True)
def test_debug_error_page_does_not_show_the_session_key():
    report, _ = run_probe({"LOG_FORMAT": "plain", "DEBUG": "true"})
    body = report["server_error_body"]
    assert "RuntimeError" in body and "deliveries failed for" in body  # the technical 500 page
    for key in report["keys"]:
        assert key not in body
    # Whatever a page links to, the browser sends no path (and no key) to another site.
    assert set(report["referrer_policy"].values()) == {"same-origin"}
