"""CSV import of tracking numbers: preview with a verdict per row, confirm, background apply."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fulfillment.imports import apply
from fulfillment.imports.apply import apply_tracking_csv
from fulfillment.imports.models import CsvImport, CsvImportRow
from fulfillment.orders.tracking import tracking_character_problem
from fulfillment.outbox.models import PendingUpdate
from fulfillment.outbox.sender import send_pending_updates
from tests.workers import start_worker

pytestmark = pytest.mark.django_db


def upload(shop, text: str, *, encoding="utf-8", ship=True, name="tracking.csv"):
    data = {"file": SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")}
    if ship:
        data["ship"] = "on"
    return shop.post("fulfillments/import/", data)


@pytest.fixture
def confirm(shop, django_capture_on_commit_callbacks):
    """Confirm an import, then do what its queued task does (the real worker: see below)."""

    def run(job):
        with django_capture_on_commit_callbacks() as callbacks:
            response = shop.post(f"fulfillments/import/{job.pk}/confirm", {})
        if callbacks:
            assert not PendingUpdate.objects.filter(csv_import=job).exists()  # not in the request
            apply_tracking_csv(import_id=job.pk)
        return response

    return run


def test_preview_marks_every_kind_of_row(shop, sandbox):
    orders = sandbox.fulfillments(1202)
    opens = [o["id"] for o in orders if o["status"] == 0]
    shipped = next(o["id"] for o in orders if o["status"] == 100)
    foreign = sandbox.fulfillments(1305)[0]["id"]
    text = "\n".join(
        [
            "order_id;tracking_number",
            f"{opens[0]};TRK-1",
            f"{opens[1]};TRK-2, TRK-3",
            f"{foreign};TRK-4",
            "999999999;TRK-5",
            f"{shipped};TRK-6",
            "abc;TRK-7",
            f"{opens[2]};" + "X" * 65,
            f"{opens[3]};",
            f"{opens[0]};TRK-8",
        ]
    )
    response = upload(shop, "\ufeff" + text)
    assert response.status_code == 302
    job = CsvImport.objects.get()
    verdicts = list(job.rows.values_list("line", "verdict"))
    assert verdicts == [
        (2, "ready"),
        (3, "ready"),
        (4, "unknown"),
        (5, "unknown"),
        (6, "shipped"),
        (7, "invalid"),
        (8, "invalid"),
        (9, "invalid"),
        (10, "duplicate"),
    ]
    page = shop.get(f"fulfillments/import/{job.pk}/").content.decode()
    assert "Apply 2 rows" in page and "Too long" in page and "already on line 2" in page
    assert not PendingUpdate.objects.exists()  # nothing before the owner confirms


def test_confirm_applies_ready_rows_in_the_background_with_progress_and_a_result_file(shop, sandbox, confirm):
    opens = [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:5]
    text = "\n".join(f"{order_id},CSV-{n}" for n, order_id in enumerate(opens)) + "\n12,NOPE\n"
    upload(shop, text)
    job = CsvImport.objects.get()
    confirm(job)
    confirm(job)  # a second click changes nothing
    assert PendingUpdate.objects.filter(csv_import=job).count() == 5
    progress = shop.get(f"fulfillments/import/{job.pk}/progress").content.decode()
    assert "0 accepted" in progress and "hx-trigger" in progress

    send_pending_updates(company_id=1202)
    progress = shop.get(f"fulfillments/import/{job.pk}/progress").content.decode()
    assert "5 accepted" in progress and "Import finished" in progress and "hx-trigger" not in progress
    after = {o["id"]: o for o in sandbox.fulfillments(1202)}
    assert [after[i]["tracking_number"] for i in opens] == [f"CSV-{n}" for n in range(5)]
    assert all(after[i]["status"] == 100 for i in opens)

    result = shop.get(f"fulfillments/import/{job.pk}/result.csv")
    lines = b"".join(result.streaming_content).decode("utf-8-sig").strip().splitlines()
    # Every cell is quoted (issue 11 security review: semicolon readers keep a cell whole).
    assert lines[0] == '"line","order_id","tracking_number","result","detail"'
    assert sum("Accepted" in line for line in lines) == 5
    assert "Unknown order" in lines[-1]


def test_the_progress_poll_reloads_the_page_once_when_the_import_is_done(shop, sandbox, confirm):
    opens = [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:2]
    upload(shop, "".join(f"{order_id},DONE-{order_id}\n" for order_id in opens))
    job = CsvImport.objects.get()
    confirm(job)
    polling = shop.get(f"fulfillments/import/{job.pk}/progress", headers={"HX-Request": "true"})
    assert "HX-Refresh" not in polling

    send_pending_updates(company_id=1202)
    finished = shop.get(f"fulfillments/import/{job.pk}/progress", headers={"HX-Request": "true"})
    # The rows below the bar still say "Pending" until the page is loaded again.
    assert finished["HX-Refresh"] == "true"
    page = shop.get(f"fulfillments/import/{job.pk}/").content.decode()
    assert page.count("Accepted") == 2 and "Pending" not in page


def test_tracking_only_import_leaves_the_status_alone(shop, sandbox, confirm):
    shipped = [o for o in sandbox.fulfillments(1202) if o["status"] == 100][0]
    upload(shop, f"{shipped['id']},FIXED-1", ship=False)
    job = CsvImport.objects.get()
    assert job.rows.get().verdict == CsvImportRow.Verdict.READY
    confirm(job)
    send_pending_updates(company_id=1202)
    at_sandbox = sandbox.fulfillment(1202, shipped["id"])
    assert (at_sandbox["status"], at_sandbox["tracking_number"]) == (100, "FIXED-1")


@pytest.mark.parametrize(
    "payload, message",
    [(b"\xff\xfe1\x002\x00", "not UTF-8"), (b"order_id,tracking_number\n", "no rows")],
)
def test_unreadable_files_are_refused_in_plain_words(shop, sandbox, payload, message):
    file = SimpleUploadedFile("bad.csv", payload, content_type="text/csv")
    response = shop.post("fulfillments/import/", {"file": file, "ship": "on"})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_another_companys_import_is_not_found(shop, sandbox):
    job = CsvImport.objects.create(company_id=1305, filename="x.csv")
    assert shop.get(f"fulfillments/import/{job.pk}/").status_code == 404
    assert shop.post(f"fulfillments/import/{job.pk}/confirm", {}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_applies_a_confirmed_import_and_sends_it(shop, sandbox, settings):
    settings.FULFILLMENT_OUTBOX_BACKOFF_BASE = 0
    opens = [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:30]
    upload(shop, "".join(f"{order_id},W-{order_id}\n" for order_id in opens))
    job = CsvImport.objects.get()
    response = shop.post(f"fulfillments/import/{job.pk}/confirm", {})
    assert response.status_code == 302
    assert not PendingUpdate.objects.exists()  # the request only started the work
    worker = start_worker("--batch")
    try:
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, worker.stderr.read()
    job.refresh_from_db()
    assert job.state == CsvImport.State.DONE
    assert PendingUpdate.objects.filter(csv_import=job, state="accepted").count() == 30
    after = {o["id"]: o for o in sandbox.fulfillments(1202)}
    assert all((after[i]["status"], after[i]["tracking_number"]) == (100, f"W-{i}") for i in opens)


def test_applying_an_import_in_chunks_twice_queues_each_row_once(shop, sandbox, confirm, monkeypatch):
    monkeypatch.setattr(apply, "CSV_APPLY_CHUNK", 2)  # several chunks from three rows
    opens = [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:3]
    upload(shop, "".join(f"{order_id},T-{order_id}\n" for order_id in opens))
    job = CsvImport.objects.get()
    confirm(job)
    first = set(PendingUpdate.objects.values_list("pk", flat=True))
    job.rows.update(update=None)  # as if the first run died after queueing, before linking
    assert apply_tracking_csv(import_id=job.pk) == 3
    assert set(PendingUpdate.objects.values_list("pk", flat=True)) == first
    assert set(job.rows.values_list("update", flat=True)) == first


# --- Files as spreadsheets and old systems really write them ------------------------------------


def open_ids(sandbox, count):
    return [o["id"] for o in sandbox.fulfillments(1202) if o["status"] == 0][:count]


def verdicts(job):
    return list(job.rows.values_list("line", "verdict", "tracking_number"))


def test_a_file_with_old_mac_line_endings_is_read_line_by_line(shop, sandbox):
    a, b, c = open_ids(sandbox, 3)
    response = upload(shop, f"order_id,tracking_number\r{a},MAC-1\r{b},MAC-2\r{c},MAC-3\r")
    assert response.status_code == 302
    assert verdicts(CsvImport.objects.get()) == [
        (2, "ready", "MAC-1"),
        (3, "ready", "MAC-2"),
        (4, "ready", "MAC-3"),
    ]


@pytest.mark.parametrize("separator", ["\t", "|", ";"])
def test_tab_pipe_and_semicolon_separated_files_are_read(shop, sandbox, separator):
    a, b = open_ids(sandbox, 2)
    text = f"order_id{separator}tracking_number\n{a}{separator}SEP-1\n{b}{separator}SEP-2, SEP-3\n"
    assert upload(shop, text).status_code == 302
    assert verdicts(CsvImport.objects.get()) == [(2, "ready", "SEP-1"), (3, "ready", "SEP-2, SEP-3")]


def test_without_a_header_the_separator_after_the_order_id_wins_over_commas_in_tracking(shop, sandbox):
    a, b = open_ids(sandbox, 2)
    assert upload(shop, f"{a};T-1, T-2, T-3\n{b};T-4\n").status_code == 302
    assert verdicts(CsvImport.objects.get()) == [(1, "ready", "T-1, T-2, T-3"), (2, "ready", "T-4")]


def test_a_cell_over_the_csv_field_limit_is_refused_naming_its_line(shop, sandbox):
    (a,) = open_ids(sandbox, 1)
    text = f'order_id,tracking_number\n{a},OK-1\n{a + 1},"{"X" * 140_000}"\n'
    response = upload(shop, text)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Line 3: a cell is longer than 131,072 characters" in html
    assert not CsvImport.objects.exists()


def test_an_unclosed_quote_is_shown_with_the_lines_it_swallowed(shop, sandbox):
    a, b, c, d = open_ids(sandbox, 4)
    text = f'order_id,tracking_number\n{a},Q-1\n{b},"Q-2\n{c},Q-3\n{d},Q-4\n'
    assert upload(shop, text).status_code == 302
    job = CsvImport.objects.get()
    rows = list(job.rows.values_list("line", "verdict", "reason"))
    assert [(line, verdict) for line, verdict, _ in rows] == [(2, "ready"), (3, "invalid")]
    assert rows[1][2].startswith('Lines 3–5 were read as one row: a quote (") on line 3 is not closed')
    page = shop.get(f"fulfillments/import/{job.pk}/").content.decode()
    assert "Lines 3–5 were read as one row" in page and "Apply 1 row" in page


def test_an_unclosed_quote_on_the_first_line_is_not_taken_for_a_header(shop, sandbox):
    a, b = open_ids(sandbox, 2)
    assert upload(shop, f'"{a},Q-1\n{b},Q-2\n').status_code == 302
    rows = list(CsvImport.objects.get().rows.values_list("line", "verdict"))
    assert rows == [(1, "invalid")]


@pytest.mark.parametrize(
    "invisible", ["\x00", "\x07", "\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066"]
)
def test_control_and_invisible_characters_in_csv_tracking_numbers_are_refused(shop, sandbox, invisible):
    a, b = open_ids(sandbox, 2)
    # A BOM at the very start is how Excel marks UTF-8: that one is fine.
    text = f"\ufefforder_id,tracking_number\n{a},TRK{invisible}1\n{b},CLEAN-1\n"
    assert upload(shop, text).status_code == 302
    job = CsvImport.objects.get()
    bad, good = job.rows.all()
    assert (bad.verdict, bad.reason) == ("invalid", tracking_character_problem(f"TRK{invisible}1"))
    assert f"U+{ord(invisible):04X}" in bad.reason
    assert "\x00" not in bad.tracking_number and f"⟨U+{ord(invisible):04X}⟩" in bad.tracking_number
    assert (good.verdict, good.tracking_number) == ("ready", "CLEAN-1")
    assert shop.get(f"fulfillments/import/{job.pk}/").status_code == 200


HOSTILE_FILES = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00",
    "xlsx (zip)": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00b\xee\x9dh^\x01\x00\x00\x90\x04",
    "utf-16 without bom": "order_id,tracking_number\n123,T-1\n".encode("utf-16-le"),
    "latin-1": "123,Müller\n".encode("latin-1"),
    "only nul": b"\x00" * 100,
    "nul in the order id": b"12\x003,T-1\n",
    "unicode digits": "²³,T-1\n٣,T-2\n".encode(),
    "lone quote": b'"',
    "only separators": b";;;;\n,,,,\n\t\t\n",
    "only line breaks": b"\r\r\n\n\r",
    "mixed line breaks": b"1,A\n\r2,B\r\n3,C\r",
    "huge order id": b"9" * 5000 + b",T\n",
    "escape sequences": b"123,\x1b[31mRED\x1b[0m\n",
    "surrogate escapes": b"123,\xed\xa0\x80\n",
    "overlong utf-8": b"123,\xc0\xaf\n",
}


@pytest.mark.parametrize("payload", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_hostile_files_get_a_preview_or_a_plain_error_never_a_500(shop, sandbox, payload):
    file = SimpleUploadedFile("hostile.csv", payload, content_type="text/csv")
    response = shop.post("fulfillments/import/", {"file": file, "ship": "on"})
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert shop.client.get(response["Location"]).status_code == 200
        job = CsvImport.objects.get()
        assert all("\x00" not in (r.raw_order_id + r.tracking_number) for r in job.rows.all())
    else:
        assert 'role="alert"' in response.content.decode()


# --- Another shop's import ----------------------------------------------------------------------


def test_every_import_page_answers_404_for_another_shops_import(shop, sandbox):
    job = CsvImport.objects.create(company_id=1305, filename="theirs.csv")
    assert shop.get(f"fulfillments/import/{job.pk}/progress").status_code == 404
    assert shop.get(f"fulfillments/import/{job.pk}/result.csv").status_code == 404
    assert shop.post(f"fulfillments/import/{job.pk}/confirm", {}).status_code == 404
    assert shop.post(f"fulfillments/import/{job.pk}/cancel", {}).status_code == 404
    job.refresh_from_db()
    assert job.state == CsvImport.State.PREVIEW  # neither confirmed nor cancelled


def test_cancelling_an_own_import_cancels_it_once_confirmed_it_goes_on(shop, sandbox, confirm):
    a, b = open_ids(sandbox, 2)
    upload(shop, f"{a},C-1\n")
    first = CsvImport.objects.get()
    response = shop.post(f"fulfillments/import/{first.pk}/cancel", {})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.state == CsvImport.State.CANCELLED
    upload(shop, f"{b},C-2\n")
    second = CsvImport.objects.exclude(pk=first.pk).get()
    confirm(second)
    response = shop.post(f"fulfillments/import/{second.pk}/cancel", {}, follow=True)
    assert "already confirmed" in response.content.decode()
    second.refresh_from_db()
    assert second.state != CsvImport.State.CANCELLED
