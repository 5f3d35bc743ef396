"""Benefit investigations: the out-of-pocket estimate, recording an investigation, and sending the results to
the patient and the physician office from letter templates (stored, logged as contacts, on the timeline)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from core.errors import InvalidInput, NotPermitted
from core.timeline import timeline_for
from correspondence.models import Document, LetterTemplate
from inquiries import letters
from inquiries.estimates import Service, estimate_out_of_pocket
from inquiries.models import BenefitEstimate, Interaction
from inquiries.services import benefits as services
from tests.factories import AccountFactory, CoverageFactory
from tests.factories.inquiries import CaseFactory

D = Decimal


def estimate(amounts, **benefits):
    params = {
        "plan_active": True,
        "deductible_remaining": D("0.00"),
        "coinsurance_percent": D("0"),
        "copay": D("0.00"),
        "out_of_pocket_remaining": D("10000.00"),
    }
    params.update(benefits)
    return estimate_out_of_pocket(services=[Service(f"S{i}", D(a)) for i, a in enumerate(amounts)], **params)


# --- the estimate ---------------------------------------------------------------------------------------


def test_the_deductible_is_paid_first_then_coinsurance_then_copay():
    result = estimate(
        ["1000.00"], deductible_remaining=D("300.00"), coinsurance_percent=D("20"), copay=D("25.00")
    )
    line = result.lines[0]
    assert (line.deductible, line.coinsurance, line.copay) == (D("300.00"), D("140.00"), D("25.00"))
    assert result.patient == D("465.00") and result.plan_pays == D("535.00") and not result.capped


def test_the_deductible_carries_over_services():
    result = estimate(["200.00", "500.00"], deductible_remaining=D("300.00"), coinsurance_percent=D("10"))
    assert [line.deductible for line in result.lines] == [D("200.00"), D("100.00")]
    assert [line.coinsurance for line in result.lines] == [D("0.00"), D("40.00")]
    assert result.patient == D("340.00")


def test_the_out_of_pocket_maximum_caps_the_share_copay_first():
    result = estimate(
        ["1000.00", "1000.00"],
        deductible_remaining=D("500.00"),
        coinsurance_percent=D("20"),
        copay=D("50.00"),
        out_of_pocket_remaining=D("600.00"),
    )
    first, second = result.lines
    # 500 deductible + 100 coinsurance = 600: the copay is taken off first to fit the cap.
    assert (first.deductible, first.coinsurance, first.copay) == (D("500.00"), D("100.00"), D("0.00"))
    assert second.patient == D("0.00")
    assert result.patient == D("600.00") and result.capped


def test_a_copay_never_exceeds_what_is_left_of_the_amount():
    result = estimate(["20.00"], copay=D("35.00"))
    assert result.lines[0].copay == D("20.00") and result.patient == D("20.00")


def test_coinsurance_rounds_half_up_to_cents():
    result = estimate(["100.05"], coinsurance_percent=D("10"))
    assert result.lines[0].coinsurance == D("10.01")


def test_an_inactive_plan_leaves_everything_to_the_patient():
    result = estimate(["120.00", "80.00"], plan_active=False, out_of_pocket_remaining=D("10.00"))
    assert result.patient == D("200.00") and result.plan_pays == D("0.00") and not result.capped


# --- recording and estimating ----------------------------------------------------------------------


@pytest.fixture
def case(org):
    account = AccountFactory(
        patient__organization=org,
        patient__first_name="Rosa",
        patient__last_name="Diaz",
        patient__email="rosa@example.test",
        patient__ok_to_email=True,
    )
    return CaseFactory(account=account, category="benefit_investigation", provider_name="Lakeview Cardiology")


@pytest.fixture
def coverage(case):
    return CoverageFactory(patient=case.patient, plan__payer__name="Prairie Health", member_id="PRH1")


@pytest.fixture
def investigation(case, coverage, rep):
    return services.benefit_investigation_record(
        case=case,
        coverage=coverage,
        by=rep,
        plan_active=True,
        deductible=D("1500.00"),
        deductible_met=D("1200.00"),
        coinsurance_percent=D("20"),
        copay=D("30.00"),
        out_of_pocket_max=D("4000.00"),
        out_of_pocket_met=D("3500.00"),
        prior_auth_required=True,
        prior_auth_number="PA-7781",
        payer_rep_name="Dana at Prairie",
        reference_number="REF-55120",
        investigated_on=date(2026, 11, 2),
    )


def test_an_investigation_is_recorded_with_who_confirmed_it(investigation, case):
    assert investigation.deductible_remaining == D("300.00")
    assert investigation.out_of_pocket_remaining == D("500.00")
    event = timeline_for(case).get(kind="inquiries.benefits.investigated")
    assert event.summary == "Benefits checked with Prairie Health: plan active, reference REF-55120"
    assert investigation.history.get().history_change_reason == "benefit investigation recorded"


def test_an_investigation_refuses_impossible_figures_and_other_patients(case, coverage, rep, org):
    for bad, field in (
        ({"deductible": D("100.00"), "deductible_met": D("200.00")}, "deductible_met"),
        ({"out_of_pocket_max": D("100.00"), "out_of_pocket_met": D("200.00")}, "out_of_pocket_met"),
        ({"coinsurance_percent": D("120")}, "coinsurance_percent"),
        ({"prior_auth_number": "PA-1"}, "prior_auth_number"),
        ({"investigated_on": date(2099, 1, 1)}, "investigated_on"),
    ):
        with pytest.raises(InvalidInput) as exc:
            services.benefit_investigation_record(
                case=case, coverage=coverage, by=rep, plan_active=True, **bad
            )
        assert exc.value.field == field
    stranger = CoverageFactory(patient=AccountFactory(patient__organization=org).patient)
    with pytest.raises(InvalidInput) as exc:
        services.benefit_investigation_record(case=case, coverage=stranger, by=rep, plan_active=True)
    assert exc.value.field == "coverage"


def test_an_estimate_is_stored_with_its_lines(investigation, rep, case):
    made = services.benefit_estimate_make(
        investigation=investigation,
        services=[
            services.ServiceInput("Echocardiogram", D("1200.00"), "93306"),
            services.ServiceInput("Office visit", D("250.00"), "99214"),
        ],
        by=rep,
    )
    # 300 deductible + 180 coinsurance + 30 copay = 510 > 500 left of the OOP maximum.
    assert made.patient_amount == D("500.00") and made.capped_by_out_of_pocket
    assert [line.code for line in made.lines.order_by("position")] == ["93306", "99214"]
    assert timeline_for(case).filter(kind="inquiries.benefits.estimated").exists()
    with pytest.raises(InvalidInput):
        services.benefit_estimate_make(investigation=investigation, services=[], by=rep)
    with pytest.raises(NotPermitted):
        services.benefit_estimate_make(
            investigation=investigation, services=[services.ServiceInput("x", D("1.00"))], by=None
        )


# --- sending the results ----------------------------------------------------------------------------


@pytest.fixture
def templates(org, admin_user):
    created = services.benefit_templates_install(organization=org, by=admin_user)
    assert {t.name for t in created} == {letters.LETTER_NAME, letters.EMAIL_NAME}
    # The standard statement email stays the default: statements never pick up the benefit email.
    assert (
        LetterTemplate.objects.get(organization=org, kind="email", is_default=True).name != letters.EMAIL_NAME
    )
    return {t.kind: t for t in created}


def test_only_admins_install_the_templates_and_twice_adds_nothing(org, admin_user, rep):
    with pytest.raises(NotPermitted):
        services.benefit_templates_install(organization=org, by=rep)
    services.benefit_templates_install(organization=org, by=admin_user)
    assert services.benefit_templates_install(organization=org, by=admin_user) == []


def test_results_are_mailed_to_the_physician_office_and_logged(investigation, templates, rep, case):
    made = services.benefit_estimate_make(
        investigation=investigation, services=[services.ServiceInput("Echo", D("1000.00"))], by=rep
    )
    document = services.benefit_results_send(
        investigation=investigation,
        estimate=made,
        recipient="physician",
        recipient_address="12 Lake Street\nSpringfield, IL 62701",
        letter_template=templates["letter"],
        by=rep,
    )
    assert document.subject == case and document.delivery == "print" and document.page_count >= 1
    assert "Lakeview Cardiology" in document.html and "REF-55120" in document.html
    interaction = Interaction.objects.get(case=case)
    assert (interaction.direction, interaction.outcome, interaction.relationship) == (
        "outbound",
        "letter_sent",
        "physician_office",
    )
    assert timeline_for(case).filter(kind="inquiries.benefits.results_sent").get().summary == (
        "Benefit results sent to Lakeview Cardiology by mail"
    )


def test_results_are_emailed_to_the_patient_only_at_the_address_on_file(
    investigation, templates, rep, case, django_capture_on_commit_callbacks
):
    with pytest.raises(InvalidInput) as exc:
        services.benefit_results_send(
            investigation=investigation,
            recipient="patient",
            email_to="someone.else@example.test",
            letter_template=templates["letter"],
            email_template=templates["email"],
            by=rep,
        )
    assert exc.value.field == "email_to"
    assert not Document.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        document = services.benefit_results_send(
            investigation=investigation,
            recipient="patient",
            email_to="ROSA@example.test",
            letter_template=templates["letter"],
            email_template=templates["email"],
            by=rep,
        )
    assert document.delivery == "email"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ROSA@example.test"] and f"[Case #{case.number}]" in sent.subject
    assert sent.attachments[0][2] == "application/pdf"
    document.refresh_from_db()
    assert document.sent_at is not None
    assert Interaction.objects.get(case=case).outcome == "email_sent"


def test_a_patient_who_did_not_agree_to_email_is_not_emailed(investigation, templates, rep, case):
    case.patient.ok_to_email = False
    case.patient.save(update_fields=["ok_to_email"])
    with pytest.raises(InvalidInput):
        services.benefit_results_send(
            investigation=investigation,
            recipient="patient",
            email_to="rosa@example.test",
            letter_template=templates["letter"],
            email_template=templates["email"],
            by=rep,
        )


# --- pages -----------------------------------------------------------------------------------------------


def test_the_benefit_pages_record_estimate_and_send(client, rep, case, coverage, templates):
    client.force_login(rep)
    response = client.post(
        reverse("inquiries:benefit_create", args=[case.reference]),
        {
            "coverage": coverage.reference,
            "plan_active": "on",
            "deductible": "$1,000.00",
            "deductible_met": "1000",
            "coinsurance_percent": "10",
            "copay": "20",
            "out_of_pocket_max": "3000",
            "out_of_pocket_met": "0",
            "reference_number": "R-1",
        },
    )
    assert response.status_code == 302
    investigation = case.benefit_investigations.get()
    detail = reverse("inquiries:benefit_detail", args=[investigation.reference])
    response = client.post(
        detail,
        {
            "service-TOTAL_FORMS": "5",
            "service-INITIAL_FORMS": "0",
            "service-0-code": "99214",
            "service-0-description": "Visit",
            "service-0-amount": "200.00",
        },
    )
    assert response.status_code == 302
    assert BenefitEstimate.objects.get().patient_amount == D("40.00")
    assert 'data-testid="estimate-patient">$40.00' in client.get(detail).content.decode()
    response = client.post(
        reverse("inquiries:benefit_send", args=[investigation.reference]),
        {
            "estimate": BenefitEstimate.objects.get().reference,
            "recipient": "physician",
            "recipient_name": "Lakeview Cardiology",
            "recipient_address": "12 Lake Street",
            "letter_template": templates["letter"].reference,
        },
    )
    assert response.status_code == 302
    document = Document.objects.get()
    pdf = client.get(reverse("inquiries:document_pdf", args=[document.reference]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
