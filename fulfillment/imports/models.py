"""Uploaded tracking CSVs: previewed first, with a verdict per row, applied only once confirmed."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CsvImport(models.Model):
    """One uploaded tracking CSV: previewed first, applied only once the owner confirms."""

    class State(models.TextChoices):
        PREVIEW = "preview", _("Preview")
        APPLYING = "applying", _("Applying")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    company_id = models.BigIntegerField()
    user_id = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PREVIEW)
    ship = models.BooleanField(default=True)  # mark shipped, or only save the tracking numbers
    total_rows = models.PositiveIntegerField(default=0)
    ready_rows = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["company_id", "-created_at"])]

    def __str__(self) -> str:
        return f"CSV import {self.pk} for company {self.company_id}"


class CsvImportRow(models.Model):
    class Verdict(models.TextChoices):
        READY = "ready", _("Ready")
        UNKNOWN = "unknown", _("Unknown order")
        SHIPPED = "shipped", _("Already shipped")
        INVALID = "invalid", _("Invalid")
        DUPLICATE = "duplicate", _("Duplicate")

    csv_import = models.ForeignKey(CsvImport, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()  # line number in the file, as the owner counts
    raw_order_id = models.CharField(max_length=100, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    tracking_number = models.CharField(max_length=200, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    reason = models.CharField(max_length=300, blank=True)
    # What carrier recognition found odd about a ready row, one message a line; never blocks it.
    warnings = models.TextField(blank=True, default="")
    update = models.ForeignKey(
        "outbox.PendingUpdate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["line"]
        constraints = [
            models.UniqueConstraint(fields=["csv_import", "line"], name="csv_row_line_unique"),
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.verdict}"
