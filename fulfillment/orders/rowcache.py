"""Rendered list rows, kept per process: most of a warm list view's own time was Django
rendering the same 50 rows again (about 27 variables each), though a row only changes with
its order's data, our pending change on it, the language and the session's URL prefix.

A row is kept by its order's content (the frozen, hashable ``Fulfillment`` itself, compared
field by field), not by its list's revision: a fresh fetch gives the list a new revision, and
keyed by that every row rendered again though most orders had not changed.

Only rows without a change of ours are kept (a change's state, attempts and error move on
their own). The per-request parts of a row, the CSRF token and the form's idempotency key, are
rendered as slots and filled in for each request.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from .forms import new_form_key

# Random per process, so no order data can contain them (a fixed one, written into a
# customer's name, would get the CSRF token or a form key filled in there).
CSRF_SLOT = f"csrf-slot-{secrets.token_hex(16)}"
FORM_KEY_SLOT = f"form-key-slot-{secrets.token_hex(16)}"

# Rows of a few pages of a few shops; a row is about 2 KB of HTML.
_LIMIT = 2000
_rows: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()


def attach_html(request, rows, *, kind: str, revision: tuple) -> None:
    """Give each row without a pending change its rendered HTML as ``row.html``.

    ``revision`` is the stored list's; only its first part, the cache row (one shop, one list),
    goes into the key, so a row is never shared between shops however alike their orders.
    """
    template = None
    token = get_token(request)
    context = (revision[:1], kind, get_language(), get_script_prefix())
    for row in rows:
        if row.update is not None:
            continue
        # The template reads nothing of the row but its order (and ``update``, None here).
        key = (*context, row.order)
        with _lock:
            html = _rows.get(key)
            if html is not None:
                _rows.move_to_end(key)
        if html is None:
            template = template or get_template("orders/list.html#row")
            html = template.render(
                {"row": row, "kind": kind, "csrf_token": CSRF_SLOT, "form_key_slot": FORM_KEY_SLOT}
            )
            with _lock:
                _rows[key] = html
                while len(_rows) > _LIMIT:
                    _rows.popitem(last=False)
        row.html = mark_safe(html.replace(CSRF_SLOT, token).replace(FORM_KEY_SLOT, new_form_key()))
