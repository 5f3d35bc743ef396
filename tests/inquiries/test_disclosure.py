"""The disclosure guard at the selector and service level: who may be told balances and claim details,
why not, and the override that needs a reason and is logged."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

import pytest

from accounts.models import AuthorizedContact
from core.errors import InvalidInput, NotPermitted
from core.timeline import timeline_for
from inquiries.models import DisclosureOverride, Verification, VerificationPolicy
from inquiries.selectors import disclosure_for
from inquiries.services.disclosure import caller_verify, disclosure_override
from staff.models import PhiAccessLog
from tests.factories import AccountFactory, AuthorizedContactFactory, CoverageFactory
from tests.factories.inquiries import CaseFactory

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 4, 10, 0, tzinfo=CHICAGO)


@pytest.fixture
def account(org):
    return AccountFactory(
        patient__organization=org,
        patient__date_of_birth=date(1961, 4, 9),
        patient__address_line1="418 Elm Street",
        patient__ssn_last4="4321",
        account_number="H2026-0417",
    )


@pytest.fixture
def case(account):
    return CaseFactory(account=account)


@pytest.fixture
def spouse(account):
    return AuthorizedContactFactory(
        patient=account.patient, name="Ann Okonkwo", relationship="spouse", scopes=["balances"]
    )


def verify(case, by, kind="patient", **answers):
    contact = answers.pop("contact", None)
    return caller_verify(
        case=case, caller_kind=kind, answers=answers, authorized_contact=contact, by=by, now=NOW
    )


def test_nothing_is_disclosed_before_verification_and_the_page_says_what_to_ask(case, rep):
    disclosure = disclosure_for(case, rep, now=NOW)
    assert not disclosure.balances and not disclosure.claims and not disclosure.ledger
    assert disclosure.reasons == [
        "The caller has not been verified: ask for 2 of: date of birth, street address, account number, "
        "last four of SSN, member id."
    ]


def test_the_patient_with_two_matching_identifiers_may_be_told_everything(case, rep):
    verification = verify(case, rep, dob=date(1961, 4, 9), address="418 elm st.")
    assert verification.passed and sorted(verification.matched) == ["address", "dob"]
    disclosure = disclosure_for(case, rep, now=NOW + timedelta(minutes=5))
    assert disclosure.balances and disclosure.claims and disclosure.reasons == []
    assert disclosure.expires_at == NOW + timedelta(minutes=60)
    assert [e.kind for e in timeline_for(case)] == ["inquiries.caller.verified"]


def test_one_identifier_is_not_enough(case, rep):
    verification = verify(case, rep, account_number="h2026-0417")
    assert not verification.passed
    disclosure = disclosure_for(case, rep, now=NOW)
    assert not disclosure.balances
    assert disclosure.reasons == ["Verification failed: 1 of the 2 required checks matched."]


def test_a_wrong_answer_fails_even_with_enough_right_ones(case, rep):
    verification = verify(case, rep, dob="04/09/1961", address="418 Elm Street", ssn_last4="9999")
    assert not verification.passed and verification.mismatched == ["ssn_last4"]
    disclosure = disclosure_for(case, rep, now=NOW)
    assert "last four of SSN did not match the record" in disclosure.reasons[0]
    # What the caller said is not kept anywhere on the verification.
    assert "9999" not in str(Verification.objects.values().get(pk=verification.pk))


def test_a_spouse_authorized_for_balances_sees_balances_but_not_claims(case, rep, spouse):
    verification = verify(
        case, rep, "authorized_contact", dob=date(1961, 4, 9), ssn_last4="4321", contact=spouse
    )
    assert verification.passed and verification.caller_name == "Ann Okonkwo"
    disclosure = disclosure_for(case, rep, now=NOW)
    assert disclosure.balances and not disclosure.claims
    assert disclosure.reasons == [
        "Ann Okonkwo (spouse) is authorized for balances and statements, not for insurance and claims: "
        "no claim details."
    ]


def test_a_contact_whose_scope_does_not_cover_balances_is_not_told_them(case, rep, account):
    child = AuthorizedContactFactory(
        patient=account.patient, name="Ada Okonkwo", relationship="child", scopes=["insurance"]
    )
    verify(case, rep, "authorized_contact", dob=date(1961, 4, 9), address="418 Elm Street", contact=child)
    disclosure = disclosure_for(case, rep, now=NOW)
    assert disclosure.claims and not disclosure.balances
    assert "not for balances and statements" in disclosure.reasons[0]


def test_an_ended_authorization_fails_verification(case, rep, account):
    former = AuthorizedContactFactory(
        patient=account.patient, name="Old Friend", start_date=date(2025, 1, 1), end_date=date(2026, 1, 1)
    )
    verification = verify(
        case, rep, "authorized_contact", dob=date(1961, 4, 9), ssn_last4="4321", contact=former
    )
    assert not verification.passed
    assert "Old Friend's authorization ended on 01/01/2026" in verification.failure_reason


def test_revoking_the_authorization_stops_disclosure_at_once(case, rep, spouse):
    verify(case, rep, "authorized_contact", dob=date(1961, 4, 9), ssn_last4="4321", contact=spouse)
    AuthorizedContact.objects.filter(pk=spouse.pk).update(end_date=date(2026, 11, 3))
    disclosure = disclosure_for(case, rep, now=NOW)
    assert not disclosure.balances
    assert "Ann Okonkwo's authorization is no longer current." in disclosure.reasons


def test_another_patients_contact_cannot_be_used(case, rep, org):
    stranger = AuthorizedContactFactory(patient=AccountFactory(patient__organization=org).patient)
    with pytest.raises(InvalidInput) as exc:
        verify(case, rep, "authorized_contact", dob=date(1961, 4, 9), contact=stranger)
    assert exc.value.field == "authorized_contact"
    assert not Verification.objects.exists()


def test_someone_else_is_never_verified(case, rep):
    verification = verify(case, rep, "other", dob=date(1961, 4, 9), ssn_last4="4321")
    assert not verification.passed
    assert (
        "not the patient, the guarantor, an authorized contact or a provider office"
        in (disclosure_for(case, rep, now=NOW).reasons[0])
    )


def test_a_provider_office_may_hear_claims_but_not_balances(case, rep, account):
    CoverageFactory(patient=account.patient, member_id="PRH448812")
    verify(case, rep, "provider_office", dob=date(1961, 4, 9), member_id="prh448812")
    disclosure = disclosure_for(case, rep, now=NOW)
    assert disclosure.claims and not disclosure.balances
    assert disclosure.reasons == [
        "A caller verified as a provider or physician office may not be told balances."
    ]


def test_a_verification_expires_with_the_policy(case, rep):
    verify(case, rep, dob=date(1961, 4, 9), ssn_last4="4321")
    later = NOW + timedelta(minutes=61)
    disclosure = disclosure_for(case, rep, now=later)
    assert not disclosure.balances
    assert disclosure.reasons == [
        "The last verification was more than 60 minutes ago: verify the caller again."
    ]


def test_the_organization_decides_which_identifiers_count_and_how_many(case, rep, org):
    VerificationPolicy.objects.create(
        organization=org, identifiers=["member_id", "ssn_last4"], required_count=1, valid_minutes=30
    )
    with pytest.raises(InvalidInput):
        # Date of birth does not count under this policy: no usable answer at all.
        verify(case, rep, dob=date(1961, 4, 9))
    assert verify(case, rep, ssn_last4="4321").passed
    assert disclosure_for(case, rep, now=NOW + timedelta(minutes=29)).balances
    assert not disclosure_for(case, rep, now=NOW + timedelta(minutes=31)).balances


def test_a_case_without_a_patient_discloses_nothing_and_cannot_verify(org, rep):
    case = CaseFactory(account=None, patient=None, organization=org)
    assert disclosure_for(case, rep).reasons == [
        "The case is not linked to a patient or account, so there is nothing to disclose."
    ]
    with pytest.raises(InvalidInput):
        verify(case, rep, dob=date(1961, 4, 9))


def test_an_outsider_gets_nothing(case, rep, outsider):
    verify(case, rep, dob=date(1961, 4, 9), ssn_last4="4321")
    disclosure = disclosure_for(case, outsider, now=NOW)
    assert not disclosure.anything and disclosure.reasons == ["You may not see this case."]
    with pytest.raises(NotPermitted):
        verify(case, outsider, dob=date(1961, 4, 9), ssn_last4="4321")


# --- override ------------------------------------------------------------------------------------


def test_a_representative_cannot_override(case, rep):
    with pytest.raises(NotPermitted):
        disclosure_override(case=case, reason="Caller is in the emergency room", by=rep, now=NOW)
    assert not DisclosureOverride.objects.exists()


def test_an_override_needs_a_real_reason(case, supervisor):
    with pytest.raises(InvalidInput) as exc:
        disclosure_override(case=case, reason="ok", by=supervisor, now=NOW)
    assert exc.value.field == "reason" and "at least 10 characters" in exc.value.message
    assert not DisclosureOverride.objects.exists()
    assert not PhiAccessLog.objects.exists()


def test_an_override_shows_details_and_is_logged_in_history_timeline_and_phi_log(case, supervisor, account):
    verify(case, supervisor, "other", dob=date(1961, 4, 9))
    override = disclosure_override(
        case=case, reason="Court-appointed guardian, papers faxed and checked", by=supervisor, now=NOW
    )
    disclosure = disclosure_for(case, supervisor, now=NOW + timedelta(minutes=1))
    assert disclosure.balances and disclosure.claims and disclosure.override == override
    assert disclosure.reasons == []
    assert override.history.get().history_change_reason == "disclosure guard overridden"
    event = timeline_for(case).get(kind="inquiries.disclosure.overridden")
    assert event.summary == "Disclosure guard overridden: Court-appointed guardian, papers faxed and checked"
    log = PhiAccessLog.objects.get(action=PhiAccessLog.Action.DISCLOSE)
    assert (
        log.user == supervisor
        and log.subject_id == account.pk
        and log.organization_id == case.organization_id
    )
    # It lasts as long as a verification would.
    assert not disclosure_for(case, supervisor, now=NOW + timedelta(minutes=61)).balances
