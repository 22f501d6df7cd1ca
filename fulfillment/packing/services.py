"""Packing with item verification: start or resume an order, count scanned items, confirm items
without a barcode by hand, and ship once everything is packed (with a "verified" audit entry)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

import flickrocket as fr
from frapp.errors import AppError, problem_text
from fulfillment.orders import detail as one_order
from fulfillment.orders.gtin import gtin_is_valid, normalise_gtin
from fulfillment.orders.selectors import Row
from fulfillment.orders.tracking_checks import tracking_warnings
from fulfillment.outbox import services as outbox
from fulfillment.outbox.models import AuditEntry, PendingUpdate, Source

from .models import PackingSettings, Verification, VerifiedLine
from .selectors import Progress

COUNTED = "counted"
CONFIRMED = "confirmed"
WRONG_ITEM = "wrong_item"
TOO_MANY = "too_many"
MISREAD = "misread"


@dataclass(frozen=True)
class Outcome:
    """What the last scan did; anything but ``counted``/``confirmed`` is an alert on the bench."""

    kind: str
    code: str = ""
    position: int | None = None  # the line it concerns, if any
    message: str = ""

    @property
    def is_error(self) -> bool:
        return self.kind in (WRONG_ITEM, TOO_MANY, MISREAD)


class ScanRefused(AppError):
    """A scan at the last step that is an item, not a tracking number: nothing is shipped."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


class OrderNotFetched(AppError):
    """The scanned order could not be read: not one of this shop's orders (404, an error on the
    order number) or FlickRocket did not answer (503); the bench says so and keeps the scan."""

    def __init__(self, message: str, *, status: int, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message, field_errors=field_errors)
        self.status = status


def scanned_order(*, company_id: int, order_id: int) -> Row:
    """The scanned order fresh from FlickRocket (the cached copy while it does not answer)."""
    try:
        return one_order.order_detail(company_id=company_id, order_id=order_id).row
    except fr.NotFound:
        message = _("Order %(order)s is not one of this shop's orders.") % {"order": order_id}
        raise OrderNotFetched(message, status=404, field_errors={"order_id": [message]}) from None
    except fr.Transient as exc:
        raise OrderNotFetched(problem_text(exc), status=503) from exc


@dataclass(frozen=True)
class Begun:
    progress: Progress
    row: Row
    shipped_elsewhere: bool = False


@dataclass(frozen=True)
class Shipped:
    update: PendingUpdate
    row: Row
    warnings: list[str]


def set_verify_items(*, company_id: int, verify_items: bool) -> PackingSettings:
    settings, _created = PackingSettings.objects.update_or_create(
        company_id=company_id, defaults={"verify_items": verify_items}
    )
    return settings


def begin(*, company_id: int, user_id: str, order_id: int) -> Begun:
    """The order fresh from FlickRocket and its packing progress, resumed or started.

    Raises ``OrderNotFetched`` for another shop's order or while FlickRocket does not answer.
    """
    row = scanned_order(company_id=company_id, order_id=order_id)
    with transaction.atomic():
        verification = (
            Verification.objects.select_for_update().filter(company_id=company_id, order_id=order_id).first()
        )
        shipped_elsewhere = False
        if verification is None or verification.verified_at is not None:
            try:
                with transaction.atomic():  # a savepoint: the transaction stays usable
                    verification = _restart(verification, company_id, user_id, row)
            except IntegrityError:
                # Another request started this order at the same moment (on PostgreSQL a
                # missing row locks nothing): carry on with the row it created.
                verification = Verification.objects.select_for_update().get(
                    company_id=company_id, order_id=order_id
                )
        elif row.is_shipped and not verification.order_was_shipped:
            shipped_elsewhere = True
            verification.order_was_shipped = True
            verification.save(update_fields=["order_was_shipped", "updated_at"])
    return Begun(_progress(verification), row, shipped_elsewhere)


def scan_item(*, company_id: int, user_id: str, order_id: int, code: str) -> tuple[Progress, Outcome]:
    """Count one scanned barcode against the order; a wrong, surplus or misread code counts nothing."""
    _started(company_id=company_id, user_id=user_id, order_id=order_id)
    code = code.strip()
    with transaction.atomic():
        verification = _locked(company_id, order_id)
        lines = list(verification.lines.all())
        outcome = _match(code, lines)
        if outcome.kind == COUNTED:
            line = next(line for line in lines if line.position == outcome.position)
            line.scanned += 1
            line.save(update_fields=["scanned"])
            verification.save(update_fields=["updated_at"])
    return Progress(verification, lines), outcome


def confirm_by_hand(
    *, company_id: int, user_id: str, order_id: int, position: int
) -> tuple[Progress, Outcome]:
    """An item without a barcode, counted as packed on the packer's word, and recorded as such."""
    _started(company_id=company_id, user_id=user_id, order_id=order_id)
    with transaction.atomic():
        verification = _locked(company_id, order_id)
        lines = list(verification.lines.all())
        line = next((line for line in lines if line.position == position), None)
        if line is None:
            raise AppError(_("This order has no such line."))
        if line.gtin:
            raise AppError(_("This item has a barcode: scan it instead."))
        if not line.by_hand:
            line.scanned = line.expected
            line.confirmed_by = user_id or ""
            line.confirmed_at = timezone.now()
            line.save(update_fields=["scanned", "confirmed_by", "confirmed_at"])
    return Progress(verification, lines), Outcome(CONFIRMED, position=position)


def ship(
    *, company_id: int, user_id: str, order_id: int, tracking_number: str, idempotency_key: str | None
) -> Shipped:
    """Ship a completely packed order; refused while anything is missing, whatever was posted."""
    if idempotency_key:
        done = PendingUpdate.objects.filter(company_id=company_id, idempotency_key=idempotency_key).first()
        if done is not None:  # the same form sent twice: shipped once
            return Shipped(done, scanned_order(company_id=company_id, order_id=order_id), [])
    begun = begin(company_id=company_id, user_id=user_id, order_id=order_id)
    if begun.shipped_elsewhere:
        raise AppError(shipped_elsewhere_message(order_id))
    with transaction.atomic():
        verification = _locked(company_id, order_id)
        state = Progress(verification, list(verification.lines.all()))
        surplus = _match(tracking_number.strip(), state.lines)
        if surplus.kind == TOO_MANY:
            # One more item scanned after the last one: the box now takes tracking numbers,
            # and shipping with a product barcode as tracking would hide the surplus item.
            raise ScanRefused(surplus)
        if not state.complete:
            raise AppError(
                ngettext(
                    "%(count)d item is not packed yet: scan it before shipping.",
                    "%(count)d items are not packed yet: scan them before shipping.",
                    state.missing,
                )
                % {"count": state.missing}
            )
        update = outbox.mark_shipped(
            company_id=company_id,
            user_id=user_id,
            order_id=order_id,
            tracking_number=tracking_number,
            source=Source.SCAN,
            idempotency_key=idempotency_key,
            order=begun.row.order,
            verified=True,
        )
        AuditEntry.objects.create(
            kind=AuditEntry.Kind.VERIFIED,
            company_id=company_id,
            order_id=order_id,
            user_id=user_id or "",
            source=Source.SCAN,
            update=update,
        )
        verification.verified_at = timezone.now()
        verification.verified_by = user_id or ""
        verification.save(update_fields=["verified_at", "verified_by", "updated_at"])
    return Shipped(update, begun.row, tracking_warnings(begun.row.order, tracking_number))


def shipped_elsewhere_message(order_id: int) -> str:
    return _(
        "Order #%(order)s was marked shipped elsewhere while it was being packed. Check it; "
        "to replace its tracking, scan the tracking number again."
    ) % {"order": order_id}


def _started(*, company_id: int, user_id: str, order_id: int) -> None:
    """A scan for an order not on the bench (another tab, a crafted form) starts it first."""
    if not Verification.objects.filter(company_id=company_id, order_id=order_id, verified_at=None).exists():
        begin(company_id=company_id, user_id=user_id, order_id=order_id)


def _locked(company_id: int, order_id: int) -> Verification:
    verification = (
        Verification.objects.select_for_update()
        .filter(company_id=company_id, order_id=order_id, verified_at=None)
        .first()
    )
    if verification is None:
        raise AppError(_("Scan the order number first."))
    return verification


def _restart(verification: Verification | None, company_id: int, user_id: str, row: Row) -> Verification:
    if verification is not None:
        verification.delete()
    verification = Verification.objects.create(
        company_id=company_id, order_id=row.id, user_id=user_id or "", order_was_shipped=row.is_shipped
    )
    VerifiedLine.objects.bulk_create(
        VerifiedLine(
            verification=verification,
            position=position,
            line_item_id=item.id,
            title=item.title[:500],
            version=item.version[:200],
            gtin=normalise_gtin(item.gtin),
            expected=max(item.quantity, 0),
        )
        for position, item in enumerate(row.order.line_items, start=1)
    )
    return verification


def _progress(verification: Verification) -> Progress:
    return Progress(verification, list(verification.lines.all()))


def _match(code: str, lines: list[VerifiedLine]) -> Outcome:
    gtin = normalise_gtin(code)
    same = [line for line in lines if gtin and line.gtin == gtin]
    if same:
        line = next((line for line in same if not line.complete), None)
        if line is not None:
            return Outcome(COUNTED, code, line.position)
        return Outcome(
            TOO_MANY,
            code,
            same[0].position,
            _("One too many: all %(count)d × “%(title)s” are already packed. Take this one out.")
            % {"count": same[0].expected, "title": same[0].title},
        )
    if gtin and not gtin_is_valid(code):
        return Outcome(MISREAD, code, None, _("This barcode did not read correctly, scan again."))
    return Outcome(WRONG_ITEM, code, None, _("Wrong item: this barcode is not in this order."))
