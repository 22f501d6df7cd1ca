"""The last order lists fetched from FlickRocket, per company and view."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ListCache(models.Model):
    """The last list fetched from FlickRocket per company and view, shown when it is down."""

    class Kind(models.TextChoices):
        OPEN = "open", _("Open")
        SHIPPED = "shipped", _("Shipped")
        ALL = "all", _("All")

    company_id = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The date range of an "all" list ("min|max"); empty for open and shipped.
    params = models.CharField(max_length=100, blank=True, default="")
    # The list as JSON bytes (msgspec-encoded Fulfillments): written and read without building
    # a Python object per field, which made storing a 10,000-order list cost most of a second.
    body = models.BinaryField(default=b"")
    count = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField()
    # Bumped by invalidate_lists: a cache fetched before the company's current version is stale.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company_id", "kind", "params"], name="one_cache_per_list"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} list of company {self.company_id}"
