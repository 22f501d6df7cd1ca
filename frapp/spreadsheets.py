"""The one way the app hands out a spreadsheet: a streamed CSV with its formula guard."""

import csv
import re
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Whichever separator a spreadsheet splits on (comma in most locales, semicolon in Germany,
# Austria and France, tab when pasted), each piece becomes a cell of its own; line breaks
# too, for importers that ignore quoting.
_SEPARATORS = re.compile(r"[,;\t\r\n]")
_LEADING = " \"'"


def csv_safe(value):
    """Spreadsheets run cells starting with = + - @ (or tab/CR) as formulas, and shop texts
    (names, titles, uploaded cells) come from strangers: prefix those with a quote.

    ``Bob;=2+5`` is harmless to a comma reader but is two cells, one a formula, to a semicolon
    reader, so every piece after any separator counts (OWASP's CSV injection guidance).
    """
    if not isinstance(value, str):
        return value
    if value[:1] in FORMULA_STARTS or any(
        piece.lstrip(_LEADING)[:1] in FORMULA_STARTS for piece in _SEPARATORS.split(value)
    ):
        return "'" + value
    return value


def csv_safe_row(cells, *, numeric_columns: frozenset[int] = frozenset()) -> list:
    return [cell if i in numeric_columns else csv_safe(cell) for i, cell in enumerate(cells)]


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
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(csv_safe_row(row, numeric_columns=numeric_columns))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
