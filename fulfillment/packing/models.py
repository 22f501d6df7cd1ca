"""Packing bench: whether a shop verifies items before shipping, and each order's packing progress."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PackingSettings(models.Model):
    """One row per shop; no row means the two-scan bench (order, then tracking number)."""

    company_id = models.BigIntegerField(unique=True)
    verify_items = models.BooleanField(default=False, verbose_name=_("Verify items before shipping"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("packing settings")
        verbose_name_plural = _("packing settings")

    def __str__(self) -> str:
        return f"Packing settings of company {self.company_id}"


class Verification(models.Model):
    """An order being packed with item verification. Kept in the database, so a reload or a
    second bench carries on where the packer stopped; restarted when the order is scanned
    again after it was shipped from here."""

    company_id = models.BigIntegerField()
    order_id = models.BigIntegerField()
    user_id = models.CharField(max_length=200, blank=True)
    # Whether the order was already shipped when packing began: if it becomes shipped while
    # it is packed, someone shipped it elsewhere and the bench says so before shipping again.
    order_was_shipped = models.BooleanField(default=False)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company_id", "order_id"], name="one_verification_per_order"),
        ]

    def __str__(self) -> str:
        return f"Packing of order {self.order_id}"


class VerifiedLine(models.Model):
    """One line item of the order as it was when packing began, and how much of it is packed."""

    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    line_item_id = models.BigIntegerField()
    title = models.CharField(max_length=500, blank=True)
    version = models.CharField(max_length=200, blank=True)
    gtin = models.CharField(max_length=14, blank=True)  # normalised 14-digit form, "" when none
    expected = models.PositiveIntegerField()
    scanned = models.PositiveIntegerField(default=0)
    confirmed_by = models.CharField(max_length=200, blank=True)  # set when confirmed by hand
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["verification", "position"], name="one_line_per_position"),
        ]

    def __str__(self) -> str:
        return f"{self.scanned}/{self.expected} × {self.title}"

    @property
    def complete(self) -> bool:
        return self.scanned >= self.expected

    @property
    def by_hand(self) -> bool:
        return self.confirmed_at is not None
