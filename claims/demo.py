"""Demo claims (``manage.py seed_demo``), made after the demo accounts through the real services.

Most demo accounts whose charges are clean (no open charge edit) and that have a coverage to
bill get a claim built from those charges and submitted a few days after the service, by the
organization's demo poster. Where the accounts demo already posted the payer's payment on the
ledger, the claim is marked paid with the payment's total and day, the way the 835 poster
records them; the others stay submitted, waiting for a remittance (the remittances demo pays
some of them). About one account in seven is left without a claim, so that "Create claim" has
something to show, and accounts with open edits keep theirs until the edits are worked.

An organization that already has claims is skipped: a second run creates nothing. The choices
are the same on every run (hashes of the account numbers, not random numbers).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from django.db.models import Max, Sum
from django.utils import timezone

from accounts import demo as accounts_demo
from accounts.edits import billing_blockers
from accounts.models import Charge, Coverage, LedgerEntry, PatientAccount
from accounts.services import responsible_coverages
from claims.models import Claim
from claims.services.claims import claim_change_status, claim_create_from_charges, claim_submit
from core.audit import mark_change
from staff.models import Organization, User

# Share of eligible accounts that get a claim, in percent.
SHARE = 85


def _roll(account: PatientAccount) -> int:
    """0-99, the same for an account on every run."""
    digest = hashlib.sha256(f"claims:{account.organization_id}:{account.account_number}".encode()).hexdigest()
    return int(digest[:8], 16) % 100


def _coverage(account: PatientAccount, charges: list[Charge]) -> Coverage | None:
    first = min(charge.service_date for charge in charges)
    return responsible_coverages(account, {first})[first]


def _bill(account: PatientAccount, by: User, today: date) -> bool:
    """Claim the account's clean charges to the payer responsible for them; True when a claim was made."""
    blocked = {edit.charge_id for edit in billing_blockers(account)}
    charges = [
        charge
        for charge in Charge.objects.filter(account=account, status=Charge.Status.POSTED).order_by(
            "service_date", "id"
        )
        if charge.pk not in blocked
    ]
    if not charges:
        return False
    coverage = _coverage(account, charges)
    if coverage is None:
        return False
    claim = claim_create_from_charges(account=account, coverage=coverage, charges=charges, by=by)
    sent = min(claim.service_to + timedelta(days=2 + _roll(account) % 6), today)
    claim_submit(claim=claim, by=by, submitted_on=sent)
    payments = LedgerEntry.objects.filter(
        account=account, coverage=coverage, kind=LedgerEntry.Kind.INSURANCE_PAYMENT
    ).aggregate(total=Sum("amount"), last=Max("effective_date"))
    if payments["total"] is not None:
        claim_change_status(
            claim=claim, status=Claim.Status.PAID, by=by, reason="Paid: the payment is on the ledger"
        )
        # What the 835 poster keeps on the claim when it posts the payment.
        claim.paid_amount = -payments["total"]
        claim.last_remittance_on = payments["last"]
        claim.payer_claim_number = f"ICN{claim.pk:08d}"
        mark_change(claim, by=by, reason="payment posted")
        claim.save(update_fields=["paid_amount", "last_remittance_on", "payer_claim_number", "updated_at"])
    return True


def seed_organization(organization: Organization, poster: User, *, today: date | None = None) -> int:
    """Claims for the organization's demo accounts, unless it has claims already; returns how many."""
    if Claim.objects.filter(organization=organization).exists():
        return 0
    today = today or timezone.localdate()
    made = 0
    accounts = (
        PatientAccount.objects.filter(organization=organization, charges__status=Charge.Status.POSTED)
        .distinct()
        .order_by("pk")
    )
    for account in accounts:
        if _roll(account) < SHARE and _bill(account, poster, today):
            made += 1
    return made


def seed() -> int:
    """Seed claims in every demo organization; returns how many claims were made."""
    made = 0
    for profile in accounts_demo.PROFILES:
        organization = Organization.objects.filter(slug=profile.slug).first()
        poster = User.objects.filter(email=profile.poster).first()
        if organization is not None and poster is not None:
            made += seed_organization(organization, poster)
    return made
