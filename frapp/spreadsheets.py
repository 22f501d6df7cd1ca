import re

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
