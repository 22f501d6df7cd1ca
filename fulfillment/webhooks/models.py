"""Webhook deliveries received from FlickRocket (docs/flickrocket.md, Webhook deliveries).

One row per delivery that passed the signature check, written before the receiver answers,
so an acknowledged delivery is never lost. Refused attempts (bad or missing signature) are
kept as rows too, for the owner's deliveries page, but they carry no payload and are never
picked up by the worker.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookDelivery(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting to be processed")
        ACTED = "acted", _("Acted on")
        RECORDED = "recorded", _("Recorded")
        NOT_INSTALLED = "not_installed", _("Recorded (app not installed)")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    company_id = models.BigIntegerField()
    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    # sha256 of the signed content: the same event delivered twice has the same key.
    dedupe_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    signature_ok = models.BooleanField(default=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # A worker that claims a delivery holds it until then; a killed worker's claim runs out.
    claimed_until = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    action = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["company_id", "-received_at"], name="delivery_company_recent"),
            models.Index(fields=["received_at"], name="delivery_received"),
            models.Index(
                fields=["received_at"],
                name="delivery_unprocessed",
                condition=Q(processed_at__isnull=True),
            ),
        ]
        constraints = [
            # A verified delivery is deduplicated by its key; a refused one is never acted on.
            models.CheckConstraint(
                condition=Q(signature_ok=False) | Q(dedupe_key__isnull=False),
                name="verified_delivery_has_dedupe_key",
            ),
            models.CheckConstraint(
                condition=Q(signature_ok=True) | Q(outcome="refused", processed_at__isnull=False),
                name="refused_delivery_is_final",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} for company {self.company_id} ({self.get_outcome_display()})"

    @property
    def is_pending(self) -> bool:
        return self.processed_at is None


class WebhookRefusalWindow(models.Model):
    """How many refused attempts were recorded in one minute, by every web process together.

    Refused attempts are unauthenticated writes; this row is what caps them, through the
    database, so adding processes does not raise the cap.
    """

    minute = models.BigIntegerField(primary_key=True)  # Unix time // 60
    recorded = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.recorded} refusals recorded in minute {self.minute}"


class WebhookHealth(models.Model):
    """The last check of one company's own hooks (after an install or a launch).

    FlickRocket switches a hook off after 48 hours of failed deliveries; the check puts it back.
    ``queued_at`` is claimed in the database before a check is queued, so launches in any
    number of processes queue at most one check per interval.
    """

    class Status(models.TextChoices):
        UNKNOWN = "unknown", _("Not checked yet")
        OK = "ok", _("All subscribed and active")
        REPAIRED = "repaired", _("Repaired")
        FAILED = "failed", _("Check failed")
        MISSING_PERMISSION = "missing_permission", _("Missing permission")

    company_id = models.BigIntegerField(unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNKNOWN)
    queued_at = models.DateTimeField(null=True, blank=True)
    # A running check holds this lease, so two workers never create the same hook twice.
    checking_until = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    ok_at = models.DateTimeField(null=True, blank=True)
    repaired_at = models.DateTimeField(null=True, blank=True)
    # What the last repair did: {"created": [topic, ...], "reactivated": [topic, ...]}.
    repaired = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Webhook health of company {self.company_id} ({self.status})"
