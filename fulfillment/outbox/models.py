"""The outbox: owner changes waiting for FlickRocket, their history, the audit log and the
per-company state every sending worker shares.

Every change an owner makes to an order is a ``PendingUpdate`` row first and a FlickRocket
call second, so nothing typed into the app can be lost between the two.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    SINGLE = "single", _("Order page")
    INLINE = "inline", "List"
    SCAN = "scan", _("Scan")
    BULK = "bulk", _("Bulk")
    CSV = "csv", _("CSV import")
    RETRY = "retry", _("Retry")


class PendingUpdate(models.Model):
    """The outbox: one owner change to one order, kept until FlickRocket accepts or refuses it.

    ``tracking_number`` / ``status`` of ``None`` mean "leave as it is". At most one queued and
    at most one sending row per order: a newer change replaces a still-queued older one, and a
    change made while another is in flight waits for it, so the last confirmed change stands.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("Pending")
        SENDING = "sending", _("Sending")
        ACCEPTED = "accepted", _("Accepted")
        REFUSED = "refused", _("Refused")
        SUPERSEDED = "superseded", _("Replaced")

    ACTIVE = (State.QUEUED, State.SENDING)

    company_id = models.BigIntegerField()
    order_id = models.BigIntegerField()
    # None leaves tracking as it is; "" clears it: the two must stay apart.
    tracking_number = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    # What the owner saw before the change, for the audit log's old -> new.
    previous_tracking_number = models.CharField(max_length=200, blank=True)
    previous_status = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    user_id = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # NULL, not "", for changes without a form key: unique allows many NULLs.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)  # noqa: DJ001
    csv_import = models.ForeignKey(
        "imports.CsvImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="updates"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["company_id", "state", "next_attempt_at"]),
            models.Index(fields=["company_id", "order_id", "-id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["company_id", "order_id"],
                condition=Q(state="queued"),
                name="one_queued_update_per_order",
            ),
            models.UniqueConstraint(
                fields=["company_id", "order_id"],
                condition=Q(state="sending"),
                name="one_sending_update_per_order",
            ),
            models.CheckConstraint(
                condition=Q(tracking_number__isnull=False) | Q(status__isnull=False),
                name="update_changes_something",
            ),
            models.CheckConstraint(
                condition=Q(status__isnull=True) | Q(status__in=[0, 100]),
                name="update_status_is_known",
            ),
        ]

    def __str__(self) -> str:
        return f"Update {self.pk} of order {self.order_id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def ships(self) -> bool:
        return self.status == 100

    def describe(self) -> str:
        # In the active language: the order page's pending banner and history show it.
        parts = []
        if self.status == 100:
            parts.append(gettext("mark shipped"))
        elif self.status == 0:
            parts.append(gettext("mark not shipped"))
        if self.tracking_number is not None:
            if self.tracking_number:
                parts.append(gettext("tracking “%(number)s”") % {"number": self.tracking_number})
            else:
                parts.append(gettext("clear tracking"))
        return ", ".join(parts)


class UpdateEvent(models.Model):
    """What happened to one outbox row, in order: the order page's write-back history."""

    class Kind(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted by FlickRocket")
        REFUSED = "refused", _("Refused by FlickRocket")
        WAITING = "waiting", _("Waiting to retry")
        SUPERSEDED = "superseded", _("Replaced by a newer change")
        RETRIED = "retried", _("Retry requested")
        RESUMED = "resumed", _("Resumed after an interrupted send")

    update = models.ForeignKey(PendingUpdate, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.update_id})"


class AuditEntry(models.Model):
    """Who changed which order, when, how, from what to what. Written with the change.

    A ``verified`` entry changes nothing: it records who checked the order's items at the
    packing bench (fulfillment.packing) before shipping it.
    """

    class Kind(models.TextChoices):
        CHANGED = "changed", _("Changed")
        VERIFIED = "verified", _("Items verified")

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHANGED)
    company_id = models.BigIntegerField()
    order_id = models.BigIntegerField()
    user_id = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    old_tracking_number = models.CharField(max_length=200, blank=True)
    new_tracking_number = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    old_status = models.PositiveSmallIntegerField(null=True, blank=True)
    new_status = models.PositiveSmallIntegerField(null=True, blank=True)
    update = models.ForeignKey(
        PendingUpdate, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["company_id", "-at"]),
            models.Index(fields=["company_id", "order_id"]),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id} by {self.user_id}"

    @property
    def reopens(self) -> bool:
        """A shipment undone: an order marked shipped set back to open."""
        return self.old_status == 100 and self.new_status == 0


class CompanyOutbox(models.Model):
    """Per-company state shared by every worker: call pacing and the next scheduled send.

    ``calls_used``/``calls_size`` mirror FlickRocket's call-limit header as last seen (plus
    calls reserved since); ``not_before`` holds a ``Retry-After``. ``scheduled_for`` is when a
    send task is already queued, so writes and page views do not pile up duplicate tasks.
    """

    company_id = models.BigIntegerField(unique=True)
    calls_used = models.FloatField(default=0)
    calls_size = models.PositiveIntegerField(default=0)
    observed_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    list_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Outbox of company {self.company_id}"
