"""Reads that combine several models for one screen: the disclosure guard and the case page.

``disclosure_for`` is the one place that decides whether a case may show balances,
the ledger and claim details. The case page, the API and anything else that would put
account details in front of a rep on a call ask it first and leave them out otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone

from accounts.models import AuthorizedContact, LedgerEntry, PatientAccount
from core.models import TimelineEvent
from core.timeline import timeline_for
from inquiries.models import (
    Callback,
    CallerKind,
    Case,
    DisclosureOverride,
    Interaction,
    QAReview,
    QAScore,
    Referral,
    Scope,
    Script,
    ScriptVersion,
    Verification,
    VerificationPolicy,
)
from inquiries.permissions import can_view_cases
from inquiries.services.common import local_today

LEDGER_SHOWN = 10
CLAIMS_SHOWN = 20
TIMELINE_SHOWN = 100
INTERACTIONS_SHOWN = 50


@dataclass(frozen=True)
class Disclosure:
    """What the case may show about the account now, and why not when it may not."""

    balances: bool
    claims: bool
    reasons: list[str] = field(default_factory=list)
    verification: Verification | None = None
    override: DisclosureOverride | None = None
    policy: VerificationPolicy | None = None
    expires_at: datetime | None = None

    @property
    def ledger(self) -> bool:
        """The ledger shows what is owed, so it follows the balances."""
        return self.balances

    @property
    def anything(self) -> bool:
        return self.balances or self.claims


def _scope_label(scope: str) -> str:
    return Scope(scope).label.lower() if scope in Scope.values else scope


def _ask_for(policy: VerificationPolicy) -> str:
    return f"ask for {policy.required_count} of: {policy.identifier_phrase()}"


def disclosure_for(case: Case, user: Any, *, now: datetime | None = None) -> Disclosure:
    """May ``user`` see (and tell the caller) the balances, ledger and claim details of ``case``?

    Yes for what the latest verification in its validity window granted (re-checked
    against the authorized contact as it is now: a revoked authorization stops
    disclosure at once), or what an unexpired override granted. Otherwise no, with the
    reasons the page shows: which checks are missing, that the verification failed or
    expired, or that the contact's scope does not cover balances or claims.
    """
    if not can_view_cases(user, case):
        return Disclosure(False, False, ["You may not see this case."])
    if case.patient_id is None:
        return Disclosure(
            False, False, ["The case is not linked to a patient or account, so there is nothing to disclose."]
        )
    now = now or timezone.now()
    policy = VerificationPolicy.of(case.organization)
    window_start = now - timedelta(minutes=policy.valid_minutes)
    latest = (
        Verification.objects.filter(case=case)
        .select_related("authorized_contact", "verified_by")
        .order_by("-verified_at", "-id")
        .first()
    )
    override = (
        DisclosureOverride.objects.filter(case=case, granted_at__lte=now, expires_at__gt=now)
        .select_related("granted_by")
        .order_by("-granted_at", "-id")
        .first()
    )
    granted: set[str] = set()
    reasons: list[str] = []
    verification = latest if latest is not None and latest.verified_at >= window_start else None
    expires_at = None
    if latest is None:
        reasons.append(f"The caller has not been verified: {_ask_for(policy)}.")
    elif verification is None:
        reasons.append(
            f"The last verification was more than {policy.valid_minutes} minutes ago: "
            "verify the caller again."
        )
    elif not verification.passed:
        reasons.append(f"Verification failed: {verification.failure_reason}.")
    else:
        expires_at = verification.verified_at + timedelta(minutes=policy.valid_minutes)
        granted = set(verification.scopes)
        contact = verification.authorized_contact
        if verification.caller_kind == CallerKind.AUTHORIZED_CONTACT and contact is not None:
            granted = _contact_scopes_now(contact, granted, local_today(case.organization, now), reasons)
    for scope, what in ((Scope.BALANCES, "balances"), (Scope.INSURANCE, "claim details")):
        if verification is not None and verification.passed and scope not in granted:
            reasons.append(_not_covered(verification, scope, what))
    if override is not None:
        granted |= set(override.scopes)
        expires_at = max(filter(None, (expires_at, override.expires_at)))
    balances = Scope.BALANCES in granted and case.account_id is not None
    claims = Scope.INSURANCE in granted
    if Scope.BALANCES in granted and case.account_id is None:
        reasons.append("Link the case to an account to see its balance.")
    if override is not None:
        reasons = [r for r in reasons if r.startswith("Link the case")]
    return Disclosure(
        balances=balances,
        claims=claims,
        reasons=reasons if not (balances and claims) else [],
        verification=latest,
        override=override,
        policy=policy,
        expires_at=expires_at if (balances or claims) else None,
    )


def _contact_scopes_now(
    contact: AuthorizedContact, granted: set[str], today: date, reasons: list[str]
) -> set[str]:
    # The authorization as it stands now, not as it stood when the caller was verified.
    contact.refresh_from_db(fields=["scopes", "is_personal_representative", "start_date", "end_date"])
    if not contact.is_current(today):
        reasons.append(f"{contact.name}'s authorization is no longer current.")
        return set()
    return {scope for scope in granted if contact.covers(scope)}


def _not_covered(verification: Verification, scope: str, what: str) -> str:
    contact = verification.authorized_contact
    if verification.caller_kind == CallerKind.AUTHORIZED_CONTACT and contact is not None:
        allowed = ", ".join(_scope_label(s) for s in contact.scopes) or "nothing"
        return (
            f"{contact.name} ({contact.get_relationship_display().lower()}) is authorized for {allowed}, "
            f"not for {_scope_label(scope)}: no {what}."
        )
    return f"A caller verified as {verification.get_caller_kind_display().lower()} may not be told {what}."


# --- the case page ---------------------------------------------------------------------------------


@dataclass
class Disclosed:
    """Account details the page shows; built only when ``disclosure_for`` allows them."""

    account: PatientAccount | None = None
    balance: Decimal | None = None
    patient_balance: Decimal | None = None
    insurance_balance: Decimal | None = None
    ledger: list[LedgerEntry] = field(default_factory=list)
    claims: list[Any] = field(default_factory=list)


def disclosed_details(case: Case, disclosure: Disclosure) -> Disclosed:
    """Balances, the latest ledger entries and the claims, each only when disclosure allows it.

    Nothing is read from the ledger or claims unless allowed, so a template cannot show
    what the view never loaded.
    """
    details = Disclosed()
    if disclosure.balances and case.account_id:
        account = PatientAccount.objects.get(pk=case.account_id)
        details.account = account
        details.balance = account.balance
        details.patient_balance = account.patient_balance
        details.insurance_balance = account.insurance_balance
        details.ledger = list(
            LedgerEntry.objects.filter(account_id=case.account_id)
            .select_related("coverage__plan__payer")
            .order_by("-id")[:LEDGER_SHOWN]
        )
    if disclosure.claims:
        details.claims = claims_for(case)
    return details


def claims_for(case: Case) -> list[Any]:
    from claims.models import Claim

    if case.claim_id:
        queryset = Claim.objects.filter(pk=case.claim_id)
    elif case.account_id:
        queryset = Claim.objects.filter(account_id=case.account_id)
    else:
        queryset = Claim.objects.filter(account__patient_id=case.patient_id)
    return list(queryset.select_related("payer").order_by("-service_from", "-id")[:CLAIMS_SHOWN])


def script_for(case: Case) -> ScriptVersion | None:
    """The current version of the script for the case's category, else the organization's general one."""
    scripts = (
        Script.objects.filter(
            organization_id=case.organization_id, is_active=True, current_version__isnull=False
        )
        .filter(category__in=[case.category, ""])
        .order_by("-category", "name")
    )
    script = scripts.select_related("current_version").first()
    if script is None:
        return None
    return (
        ScriptVersion.objects.filter(pk=script.current_version_id)
        .select_related("script")
        .prefetch_related("steps")
        .get()
    )


def interactions_of(case: Case) -> list[Interaction]:
    return list(
        Interaction.objects.filter(case=case)
        .select_related("logged_by", "script_version__script")
        .order_by("-started_at", "-id")[:INTERACTIONS_SHOWN]
    )


def open_callbacks(case: Case) -> list[Callback]:
    return list(Callback.objects.filter(case=case, status=Callback.Status.OPEN).order_by("requested_for"))


def referrals_of(case: Case) -> list[Referral]:
    return list(Referral.objects.filter(case=case).select_related("referred_by").order_by("-referred_at"))


def case_timeline(case: Case, limit: int = TIMELINE_SHOWN) -> list[TimelineEvent]:
    return list(timeline_for(case).order_by("-occurred_at", "-id")[:limit])


def current_contacts(case: Case) -> list[AuthorizedContact]:
    """The patient's authorized contacts, current ones first (the verification form's choices)."""
    if case.patient_id is None:
        return []
    return list(AuthorizedContact.objects.filter(patient_id=case.patient_id).order_by("-start_date", "name"))


def case_with_subject(queryset: Any) -> Any:
    return queryset.select_related(
        "organization", "patient", "account__guarantor", "claim__payer", "assigned_to", "department"
    )


# --- quality reviews -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RepAverage:
    representative_id: int
    name: str
    reviews: int
    average: Decimal
    compliance_misses: int


@dataclass(frozen=True)
class CriterionRate:
    scorecard: str
    label: str
    is_compliance: bool
    met: int
    applicable: int

    @property
    def rate(self) -> Decimal | None:
        if not self.applicable:
            return None
        return (Decimal(100) * self.met / self.applicable).quantize(Decimal("0.1"))


def qa_averages(organization: Any, since: datetime) -> tuple[list[RepAverage], list[CriterionRate]]:
    """Average score per representative and met rate per criterion, over reviews since ``since``.

    Two aggregate queries whatever the number of reviews.
    """
    reviews = QAReview.objects.filter(organization=organization, reviewed_at__gte=since)
    per_rep = (
        reviews.values("representative_id", "representative__full_name", "representative__email")
        .annotate(
            count=Count("id"), average=Avg("score"), misses=Count("id", filter=Q(compliance_failed=True))
        )
        .order_by("representative__full_name", "representative_id")
    )
    reps = [
        RepAverage(
            row["representative_id"],
            row["representative__full_name"] or row["representative__email"],
            row["count"],
            Decimal(row["average"]).quantize(Decimal("0.01")),
            row["misses"],
        )
        for row in per_rep
    ]
    per_criterion = (
        QAScore.objects.filter(review__in=reviews)
        .values(
            "criterion__scorecard__name",
            "criterion__label",
            "criterion__is_compliance",
            "criterion__position",
        )
        .annotate(met=Count("id", filter=Q(mark="met")), applicable=Count("id", filter=~Q(mark="na")))
        .order_by("criterion__scorecard__name", "criterion__position")
    )
    criteria = [
        CriterionRate(
            row["criterion__scorecard__name"],
            row["criterion__label"],
            row["criterion__is_compliance"],
            row["met"],
            row["applicable"],
        )
        for row in per_criterion
    ]
    return reps, criteria
