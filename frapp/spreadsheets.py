def csv_safe(value):
    """Spreadsheets run cells starting with = + - @ (or tab/CR) as formulas, and shop texts
    (names, titles, uploaded cells) come from strangers: prefix those with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_safe_row(cells, *, numeric_columns: frozenset[int] = frozenset()) -> list:
    return [cell if i in numeric_columns else csv_safe(cell) for i, cell in enumerate(cells)]
