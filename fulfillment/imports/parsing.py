"""Reading an uploaded CSV: its encoding, its delimiter, its line endings, its non-empty rows and
the line each starts on; a cell whose quote never closed is named instead of swallowing lines."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.utils.translation import gettext

from frapp.errors import AppError

CSV_MAX_BYTES = 2 * 1024 * 1024


CSV_MAX_ROWS = 10_000


CSV_DELIMITERS = ",;\t|"  # comma, semicolon (German/French Excel), tab, pipe


@dataclass(frozen=True)
class _CsvRecord:
    line: int  # the physical line the row starts on, as an editor numbers it
    last_line: int  # > line when a quoted cell ran over line breaks
    cells: list[str]


def _not_text_error() -> AppError:
    return AppError(
        gettext("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."),
        field_errors={"file": [gettext("Not UTF-8 text.")]},
    )


def _csv_delimiter(text: str) -> str:
    """The separator that ends the first cell of the first line (header or first row).

    An order id (or a header word) never contains one, whereas tracking cells may hold
    commas, so counting separators over the sample guesses wrong where this does not.
    """
    first = next((line for line in text.split("\n") if line.strip()), "")
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in CSV_DELIMITERS:
            return ch
    return ","


def _csv_rows(data: bytes) -> list[_CsvRecord]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_text_error() from None
    if text.count("\x00") * 10 > len(text):
        raise _not_text_error()  # UTF-16 without a BOM, or a binary file that happens to decode
    # Old Mac files end lines with CR alone; Windows with CRLF. The reader wants "\n".
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    reader = csv.reader(io.StringIO(text), delimiter=_csv_delimiter(text))
    records: list[_CsvRecord] = []
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_read_error(line, exc) from None
        if any(cell.strip() for cell in cells):
            records.append(_CsvRecord(line=line, last_line=reader.line_num, cells=cells))
        line = reader.line_num + 1
    return records


def _csv_read_error(line: int, exc: csv.Error) -> AppError:
    if "field larger than field limit" in str(exc):
        message = gettext(
            "Line %(line)s: a cell is longer than %(limit)s characters. "
            'Check that every quote (") from that line on is closed, then upload the file again.'
        ) % {"line": line, "limit": f"{csv.field_size_limit():,}"}
    else:
        message = gettext("Line %(line)s cannot be read as CSV (%(detail)s).") % {
            "line": line,
            "detail": str(exc)[:100],
        }
    return AppError(message, field_errors={"file": [message]})


def _swallowed_lines(record: _CsvRecord) -> str:
    """The owner's message when a quote opened and never closed ate the following lines."""
    if record.last_line == record.line and not any("\n" in cell for cell in record.cells):
        return ""
    return gettext(
        'Lines %(first)s–%(last)s were read as one row: a quote (") on line %(first)s is not '
        "closed where its cell ends. Fix the quote and upload the file again."
    ) % {"first": record.line, "last": record.last_line}


def _is_order_id(text: str) -> bool:
    # str.isdigit() also says yes to "²" and Arabic-Indic digits, which int() then refuses, and
    # int() refuses more than 4,300 digits: both ended in a 500.
    return text.isascii() and text.isdigit() and len(text) <= 18
