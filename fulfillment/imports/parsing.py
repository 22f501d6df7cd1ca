"""Reading an uploaded CSV: its encoding, its delimiter, its non-empty lines."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from frapp.errors import AppError

CSV_MAX_BYTES = 2 * 1024 * 1024


CSV_MAX_ROWS = 10_000


def _csv_rows(data: bytes) -> Iterable[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AppError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.",
            field_errors={"file": ["Not UTF-8 text."]},
        ) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for number, row in enumerate(reader, start=1):
        if any(cell.strip() for cell in row):
            yield number, row
