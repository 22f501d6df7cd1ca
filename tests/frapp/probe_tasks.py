"""A task for the worker tests: appends its id to a file, so a double run shows up."""

import os
import time

from django.tasks import task


@task()
def record_run(path: str, job: int) -> None:
    time.sleep(0.05)  # long enough that both workers get a share of the queue
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{job}\n".encode())  # one write() with O_APPEND: lines never interleave
    finally:
        os.close(fd)
