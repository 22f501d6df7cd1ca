"""CSV import of tracking numbers: preview with a verdict per row, confirm, background apply."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fulfillment.imports import apply
from fulfillment.imports.apply import apply_tracking_csv
from fulfillment.imports.models import CsvImport, CsvImportRow
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
    assert lines[0] == "line,order_id,tracking_number,result,detail"
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
