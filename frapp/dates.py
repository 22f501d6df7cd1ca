"""The platform's timestamps, read once for every page that shows one."""

from datetime import UTC, datetime


def platform_time(value: str) -> datetime | None:
    """The platform's ``2016-04-07T16:16:17`` (UTC, no offset) as an aware datetime."""
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
