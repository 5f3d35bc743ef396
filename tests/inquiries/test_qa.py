"""Quality reviews: scorecards, weighted scores with compliance items, who may review and read, and the
averages per representative and criterion."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict, InvalidInput, NotPermitted
from core.timeline import timeline_for
from inquiries.models import QAReview, Scorecard
from inquiries.selectors import qa_averages
from inquiries.services import cases as case_services
from inquiries.services import qa as services
from tests.conftest import PERSONAS
from tests.factories.inquiries import CaseFactory, ScorecardFactory

ROLES = [name for name in PERSONAS if name not in ("anonymous", "outsider")]


def contact(case, by):
    return case_services.interaction_log(
        case=case,
        by=by,
        direction="inbound",
        channel="phone_inbound",
        relationship="self",
        outcome="reached",
        person_contacted="Patient",
    )


@pytest.fixture
def case(org):
    return CaseFactory(account__patient__organization=org)


@pytest.fixture
def scorecard(org):
    return ScorecardFactory(organization=org, name="Calls")


def marks(scorecard, *values):
    return {c.pk: v for c, v in zip(scorecard.criteria.order_by("position"), values, strict=True)}


def test_criteria_lines_are_parsed_with_weights_and_compliance_marks(org, admin_user, supervisor):
    with pytest.raises(NotPermitted):
        services.scorecard_create(organization=org, name="x", criteria="10 a", by=supervisor)
    with pytest.raises(InvalidInput) as exc:
        services.scorecard_create(organization=org, name="x", criteria="Greeting\n", by=admin_user)
    assert "line 1" in exc.value.message
    with pytest.raises(InvalidInput):
        services.scorecard_create(organization=org, name="x", criteria="0 Greeting", by=admin_user)
    scorecard = services.scorecard_create(
        organization=org,
        name="Inbound calls",
        criteria="20 Greeting\n!50 Verified first\n30 Next steps",
        by=admin_user,
    )
    criteria = list(scorecard.criteria.order_by("position"))
    assert [(c.label, c.weight, c.is_compliance) for c in criteria] == [
        ("Greeting", 20, False),
        ("Verified first", 50, True),
        ("Next steps", 30, False),
    ]
    with pytest.raises(Conflict):
        services.scorecard_create(organization=org, name="inbound CALLS", criteria="1 a", by=admin_user)


def test_the_score_is_the_weight_met_over_the_weight_that_applied(case, rep, supervisor, scorecard):
    interaction = contact(case, rep)
    review = services.qa_review_record(
        interaction=interaction,
        scorecard=scorecard,
        marks=marks(scorecard, "met", "met", "na"),
        by=supervisor,
    )
    assert review.score == Decimal("100.00") and not review.compliance_failed
    assert review.representative == rep
    second = contact(case, rep)
    review = services.qa_review_record(
        interaction=second,
        scorecard=scorecard,
        marks=marks(scorecard, "not_met", "met", "met"),
        by=supervisor,
    )
    assert review.score == Decimal("80.00")
    assert timeline_for(case).filter(kind="inquiries.interaction.reviewed").count() == 2


def test_a_missed_compliance_item_scores_zero_or_is_flagged(case, rep, supervisor, scorecard, org):
    review = services.qa_review_record(
        interaction=contact(case, rep),
        scorecard=scorecard,
        marks=marks(scorecard, "met", "not_met", "met"),
        by=supervisor,
    )
    assert review.score == Decimal("0.00") and review.compliance_failed
    lenient = ScorecardFactory(organization=org, name="Lenient", compliance_fails_review=False)
    review = services.qa_review_record(
        interaction=contact(case, rep),
        scorecard=lenient,
        marks=marks(lenient, "met", "not_met", "met"),
        by=supervisor,
    )
    assert review.score == Decimal("50.00") and review.compliance_failed


def test_who_may_review(case, rep, supervisor, senior_rep, scorecard):
    interaction = contact(case, rep)
    with pytest.raises(NotPermitted):
        services.qa_review_record(
            interaction=interaction,
            scorecard=scorecard,
            marks=marks(scorecard, "met", "met", "met"),
            by=senior_rep,
        )
    own = contact(case, supervisor)
    with pytest.raises(InvalidInput) as exc:
        services.qa_review_record(
            interaction=own, scorecard=scorecard, marks=marks(scorecard, "met", "met", "met"), by=supervisor
        )
    assert "your own contact" in exc.value.message
    with pytest.raises(InvalidInput):
        services.qa_review_record(interaction=interaction, scorecard=scorecard, marks={}, by=supervisor)
    with pytest.raises(InvalidInput):
        services.qa_review_record(
            interaction=interaction,
            scorecard=scorecard,
            marks=marks(scorecard, "na", "na", "na"),
            by=supervisor,
        )
    services.qa_review_record(
        interaction=interaction,
        scorecard=scorecard,
        marks=marks(scorecard, "met", "met", "met"),
        by=supervisor,
    )
    with pytest.raises(Conflict):
        services.qa_review_record(
            interaction=interaction,
            scorecard=scorecard,
            marks=marks(scorecard, "met", "met", "met"),
            by=supervisor,
        )


def test_averages_per_representative_and_criterion_in_two_queries(
    case, rep, other_rep, supervisor, scorecard, org
):
    for who, values in (
        (rep, ("met", "met", "met")),
        (rep, ("not_met", "met", "met")),
        (other_rep, ("met", "not_met", "na")),
    ):
        services.qa_review_record(
            interaction=contact(case, who),
            scorecard=scorecard,
            marks=marks(scorecard, *values),
            by=supervisor,
        )
    with CaptureQueriesContext(connection) as queries:
        reps, criteria = qa_averages(org, timezone.now() - timedelta(days=30))
    assert len(queries.captured_queries) == 2
    by_rep = {r.representative_id: r for r in reps}
    assert by_rep[rep.pk].reviews == 2 and by_rep[rep.pk].average == Decimal("90.00")
    assert by_rep[other_rep.pk].compliance_misses == 1 and by_rep[other_rep.pk].average == Decimal("0.00")
    greeting, verified, steps = criteria
    assert (greeting.met, greeting.applicable, greeting.rate) == (2, 3, Decimal("66.7"))
    assert verified.is_compliance and verified.met == 2
    assert steps.applicable == 2


@pytest.mark.parametrize("who", ROLES)
def test_the_qa_pages_across_roles(who, persona, client, case, rep, supervisor, scorecard):
    interaction = contact(case, rep)
    review = services.qa_review_record(
        interaction=interaction,
        scorecard=scorecard,
        marks=marks(scorecard, "met", "met", "met"),
        by=supervisor,
    )
    user = persona(who)
    client.force_login(user)
    home = client.get(reverse("inquiries:qa_home"))
    assert home.status_code == 200
    assert ('data-testid="rep-averages"' in home.content.decode()) == (who in ("supervisor", "admin"))
    detail = client.get(reverse("inquiries:qa_review_detail", args=[review.reference]))
    # The representative whose contact it is reads it; other non-supervisors do not learn it exists.
    assert detail.status_code == (200 if who in ("supervisor", "admin", "representative") else 404)
    create = client.get(reverse("inquiries:qa_review_create", args=[interaction.reference]))
    assert create.status_code == (200 if who in ("supervisor", "admin") else 403)


def test_a_representative_reads_their_own_reviews(client, case, rep, supervisor, scorecard):
    review = services.qa_review_record(
        interaction=contact(case, rep),
        scorecard=scorecard,
        marks=marks(scorecard, "met", "met", "met"),
        by=supervisor,
    )
    client.force_login(rep)
    page = client.get(reverse("inquiries:qa_home")).content.decode()
    assert 'data-testid="my-reviews"' in page and "100.00%" in page
    assert client.get(reverse("inquiries:qa_review_detail", args=[review.reference])).status_code == 200


def test_a_supervisor_reviews_from_the_page(client, case, rep, supervisor, scorecard):
    interaction = contact(case, rep)
    client.force_login(supervisor)
    criteria = list(scorecard.criteria.order_by("position"))
    data = {f"mark_{c.pk}": "met" for c in criteria}
    data[f"mark_{criteria[2].pk}"] = "not_met"
    data[f"note_{criteria[2].pk}"] = "Did not say when we call back"
    response = client.post(reverse("inquiries:qa_review_create", args=[interaction.reference]), data)
    review = QAReview.objects.get()
    assert response.status_code == 302 and review.score == Decimal("70.00")
    assert review.scores.get(criterion=criteria[2]).note == "Did not say when we call back"


def test_the_scorecards_page(client, admin_user, supervisor, org):
    client.force_login(supervisor)
    assert client.get(reverse("inquiries:scorecard_list")).status_code == 200
    assert (
        client.post(reverse("inquiries:scorecard_list"), {"name": "x", "criteria": "1 a"}).status_code == 403
    )
    client.force_login(admin_user)
    response = client.post(
        reverse("inquiries:scorecard_list"),
        {
            "name": "Outbound",
            "criteria": "40 Mini-Miranda\n60 Offered a plan",
            "compliance_fails_review": "on",
        },
    )
    assert response.status_code == 302 and Scorecard.objects.filter(name="Outbound").exists()
