"""The one way the app hands out a spreadsheet: a streamed CSV with its formula guard."""

import csv
import re
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Whichever separator a spreadsheet splits on (comma in most locales, semicolon in Germany,
# Austria and France, tab when pasted), each piece becomes a cell of its own; line breaks
# too, for importers that ignore quoting. Kept in the split, so the text joins back unchanged.
_SEPARATORS = re.compile(r"([,;\t\r\n])")
_LEADING = " \"'"


def csv_safe(value):
    """Spreadsheets run cells starting with = + - @ (or tab/CR) as formulas, and shop texts
    (names, titles, uploaded cells) come from strangers: prefix those with a quote.

    ``Bob;=2+5`` is harmless to a comma reader but is two cells, one a formula, to a semicolon
    reader, so every piece after any separator counts (OWASP's CSV injection guidance). The
    quote goes in front of each dangerous piece, not only in front of the cell: a reader that
    splits ``'Bob;=2+5`` on ";" evaluates "=2+5", one that splits ``Bob;'=2+5`` gets the text
    "'=2+5". A quote-aware reader of the same bytes sees one cell starting with "B": text.
    """
    if not isinstance(value, str):
        return value
    parts = _SEPARATORS.split(value)  # pieces at even indexes, separators between them
    for i in range(0, len(parts), 2):
        if parts[i].lstrip(_LEADING)[:1] in FORMULA_STARTS:
            parts[i] = "'" + parts[i]
    safe = "".join(parts)
    # A cell starting with a tab or CR is a formula start of its own for some importers.
    return "'" + safe if safe[:1] in FORMULA_STARTS else safe


def csv_safe_row(cells, *, numeric_columns: frozenset[int] = frozenset()) -> list:
    return [cell if i in numeric_columns else csv_safe(cell) for i, cell in enumerate(cells)]


def csv_writer(file):
    """A writer that quotes every cell: a semicolon or tab inside a cell then stays inside it for
    any reader that honours quotes, whatever separator it splits on (``csv_safe`` covers the
    readers that do not)."""
    return csv.writer(file, quoting=csv.QUOTE_ALL)


class _Echo:
    """A file that hands back what is written, so csv.writer yields lines to stream."""

    def write(self, value):
        return value


def csv_response(
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence],
    *,
    numeric_columns: frozenset[int] = frozenset(),
) -> StreamingHttpResponse:
    """Stream ``rows`` as a CSV download; every cell outside ``numeric_columns`` is guarded.

    ``rows`` may be a generator: large exports are never held in memory. The BOM makes
    spreadsheet programs read the text (ö, é, ¥) as UTF-8.
    """
    writer = csv_writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(csv_safe_row(row, numeric_columns=numeric_columns))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
