"""Several task workers on one queue: every job runs, none runs twice."""

from collections import Counter

import pytest
from django_tasks_db.models import DBTaskResult

from tests.frapp.probe_tasks import record_run
from tests.workers import start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_workers_on_one_queue_run_each_job_exactly_once(tmp_path):
    ledger = tmp_path / "runs.txt"
    for job in range(60):
        record_run.enqueue(str(ledger), job)
    workers = [start_worker("--batch") for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    runs = Counter(int(line) for line in ledger.read_text().split())
    assert sorted(runs) == list(range(60))
    assert set(runs.values()) == {1}
    workers_seen = {w for ids in DBTaskResult.objects.values_list("worker_ids", flat=True) for w in ids}
    assert len(workers_seen) == 2  # both took part, so "exactly once" was contested
