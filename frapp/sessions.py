"""The session engine (``SESSION_ENGINE``): Django's database sessions with a leaner load.

Every embedded page loads its session (frapp/middleware.py); Django's load compiles an ORM query
each time, which cost more than reading the row. Here the load is one precompiled statement with
the same meaning: the row with this key whose ``expire_date`` is still ahead, its data decoded
(a bad signature or undecodable data is an empty session, as in Django); no such row forgets the
key, so the request has an empty session that is never saved under a key the URL carries.
Saving, creating, deleting and ``clearsessions`` stay Django's.
"""

from functools import cache

from django.contrib.sessions.backends import db
from django.utils import timezone

from .precompiled import PrecompiledSelect


# The class keeps Django's name: the signing salt is built from it ("...sessions.SessionStore"),
# so sessions written before this engine was set still decode.
class SessionStore(db.SessionStore):
    def load(self):
        rows = _session_data(self.model).rows(self.session_key, timezone.now())
        if not rows:
            self._session_key = None
            return {}
        return self.decode(rows[0][0])


@cache
def _session_data(model) -> PrecompiledSelect:
    # Built on first load, like Django's own model lookup: importing this engine needs no apps.
    return PrecompiledSelect(model, columns=("session_data",), where=("session_key", "expire_date__gt"))
