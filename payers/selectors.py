"""Reads that combine payer data for one purpose: the contract price of a service (for other
apps), and who has read which payer notice (the supervisors' report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q

from core.money import quantize_cents
from payers.models import Contract, FeeScheduleEntry, NoticeAcknowledgement, PayerNotice
from staff.models import Membership


def contract_for(*, payer_id: int, plan_id: int | None, on: date) -> Contract | None:
    """The contract in force on ``on``: one for the plan wins over one for the whole payer."""
    return (
        Contract.objects.filter(payer_id=payer_id)
        .filter(Q(plan_id=plan_id) | Q(plan__isnull=True))
        .effective_on(on)
        .order_by("plan_id", "-effective_from")  # NULLS LAST in ascending order: plan-specific first
        .first()
    )


def expected_allowed(
    *,
    payer_id: int,
    plan_id: int | None,
    code: str,
    modifier: str,
    on: date,
    charge_amount: Decimal,
    memo: dict | None = None,
) -> Decimal | None:
    """What the contract says the payer should allow for a service, or None when no contract says.

    The fee schedule entry for code + modifier wins, then the code without a modifier,
    then the contract's percentage of charges. Pass the same ``memo`` dict to a series of
    calls (the charge edits of one import) so each contract and price is read once.
    """
    memo = {} if memo is None else memo
    contract_key = ("contract", payer_id, plan_id, on)
    if contract_key not in memo:
        memo[contract_key] = contract_for(payer_id=payer_id, plan_id=plan_id, on=on)
    contract = memo[contract_key]
    if contract is None:
        return None
    # Codes and modifiers are stored upper-case (the import and the services normalize them).
    code, modifier = (code or "").strip().upper(), (modifier or "").strip().upper()
    entries_key = ("entries", contract.pk, code, modifier, on)
    if entries_key not in memo:
        memo[entries_key] = {
            entry.modifier: entry
            for entry in FeeScheduleEntry.objects.filter(
                contract=contract, code=code, modifier__in={modifier, ""}
            )
            .effective_on(on)
            .order_by("effective_from")
        }
    entries = memo[entries_key]
    entry = entries.get(modifier) or entries.get("")
    if entry is not None:
        if entry.allowed_amount is not None:
            return entry.allowed_amount
        return quantize_cents(charge_amount * entry.percent_of_charges / Decimal(100))
    if contract.default_percent_of_charges is not None:
        return quantize_cents(charge_amount * contract.default_percent_of_charges / Decimal(100))
    return None


@dataclass
class NoticeReadStatus:
    """One notice and, among the organization's active members, who acknowledged it (when) and who not."""

    notice: PayerNotice
    acknowledged: list[tuple[Any, datetime]] = field(default_factory=list)
    pending: list[Any] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.acknowledged) + len(self.pending)

    @property
    def percent_done(self) -> int:
        return round(100 * len(self.acknowledged) / self.total) if self.total else 100


def notice_read_report(*, organization: Any, notices: Any = None) -> list[NoticeReadStatus]:
    """For each active notice of ``organization`` (or the ones given), who has and has not acknowledged it.

    Everyone with an active membership counts, whenever they joined: a notice in force
    is for everyone who works the organization's accounts. Three queries, however many
    notices and people.
    """
    if notices is None:
        notices = PayerNotice.objects.in_organization(organization).active()
    notices = list(notices.select_related("published_by"))
    members = [
        membership.user
        for membership in Membership.objects.in_organization(organization)
        .active()
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ]
    acknowledged_at: dict[tuple[int, int], datetime] = {
        (notice_id, user_id): at
        for notice_id, user_id, at in NoticeAcknowledgement.objects.filter(notice__in=notices).values_list(
            "notice_id", "user_id", "acknowledged_at"
        )
    }
    report = []
    for notice in notices:
        status = NoticeReadStatus(notice)
        for user in members:
            at = acknowledged_at.get((notice.pk, user.pk))
            if at is None:
                status.pending.append(user)
            else:
                status.acknowledged.append((user, at))
        status.acknowledged.sort(key=lambda pair: pair[1])
        report.append(status)
    return report
