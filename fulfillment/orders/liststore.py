"""The stored order lists (``ListCache``) and the compact copy each process keeps of them.

A fresh fetch writes the list we fall back on while FlickRocket is down; most refetches (every
20 s a shop is looked at) bring the very list stored last, and then neither the stored bytes
nor the compact copy built from them need doing again.
"""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from . import listindex
from .models import ListCache

# What a list view reads of a stored list besides its bytes.
_FIELDS = ("id", "company_id", "kind", "params", "count", "fetched_at", "version")


def revision(cache: ListCache) -> tuple:
    """What identifies one write of a stored list: its bytes never change within a revision."""
    return (cache.fetched_at, cache.version)


def held_list(cache: ListCache) -> listindex.Compact:
    """The compact copy of ``cache``, built from its stored bytes if this process has none."""
    held = listindex.held(cache.pk, revision(cache))
    if held is None:
        body = ListCache.objects.values_list("body", flat=True).get(pk=cache.pk)
        held = listindex.compact(bytes(body))
        listindex.remember(cache.pk, revision(cache), held)
    return held


def remember_list(
    *,
    company_id: int,
    kind: str,
    params: str,
    body: bytes,
    count: int,
    version: int,
    stored: ListCache | None = None,
    same_body: bool = False,
) -> ListCache:
    """Store a fetched list; the row as stored (its bytes deferred).

    ``stored`` is the row as the view read it, ``same_body`` that ``body`` equals its bytes at
    that revision: then only the timestamp and version are written, provided nobody wrote the
    row since (it still has that revision; otherwise its bytes may differ and all is written).
    """
    where = {"company_id": company_id, "kind": kind, "params": params}
    fields = {"count": count, "fetched_at": timezone.now(), "version": version}
    if stored is not None and same_body:
        same = {"pk": stored.pk, "fetched_at": stored.fetched_at, "version": stored.version}
        if ListCache.objects.filter(**where, **same).update(**fields):
            return _as_stored(stored.pk, where, fields)
    fields["body"] = body
    # A plain UPDATE: update_or_create read the old body (megabytes for a big shop) only to
    # overwrite it.
    if stored is not None:
        written = ListCache.objects.filter(**where, pk=stored.pk).update(**fields)
    else:
        written = ListCache.objects.filter(**where).update(**fields)
    if not written:
        try:
            with transaction.atomic():
                ListCache.objects.create(**where, **fields)
        except IntegrityError:  # another view stored this list first: ours is newer
            ListCache.objects.filter(**where).update(**fields)
    if connection.vendor == "sqlite":
        # SQLite keeps a copy of a statement's last bound values until it is bound again, and
        # Python keeps the statement cached per connection (one per web thread): the same
        # UPDATE with an empty body lets go of the list's megabytes. It matches no row.
        empty = {"company_id": -1, "kind": kind, "params": params}
        ListCache.objects.filter(**empty).update(**{**fields, "body": b""})
    if written and stored is not None:
        # The row the view read, as just written: reading it back is a query for nothing.
        return _as_stored(stored.pk, where, fields)
    return ListCache.objects.defer("body").get(**where)


def _as_stored(pk: int, where: dict, fields: dict) -> ListCache:
    values = {"id": pk, **where, **fields}
    return ListCache.from_db(ListCache.objects.db, _FIELDS, [values[name] for name in _FIELDS])
