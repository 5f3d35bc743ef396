"""Payer notices: supervisors publish, everyone acknowledges once, supervisors see who has not."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import InvalidInput, InvalidTransition, NotPermitted
from payers import services
from payers.models import NoticeAcknowledgement, PayerNotice
from payers.selectors import notice_read_report
from staff.models import Membership, Role
from tests.factories import MembershipFactory, PayerFactory, UserFactory
from tests.payers.helpers import last_event, last_history

pytestmark = pytest.mark.django_db


def publish(org, by, **kwargs):
    values = {
        "title": "Timely filing drops to 90 days",
        "body": "From 1 July.",
        "effective_date": date(2026, 7, 1),
    }
    return services.notice_publish(organization=org, by=by, **{**values, **kwargs})


def test_supervisors_publish_notices_with_history_and_a_timeline_event(notice, org, supervisor, payer):
    assert notice.published_by == supervisor
    assert list(notice.payers.all()) == [payer]
    assert last_history(notice).history_change_reason == "notice published"
    event = last_event(org, "payers.notice.published")
    assert event.subject == notice
    assert event.data["payers"] == [str(payer.reference)]


@pytest.mark.parametrize(
    "who",
    ["representative", "senior_representative", "posting_specialist", "appeals_coordinator", "outsider"],
)
def test_only_supervisors_and_admins_publish(who, persona, org):
    with pytest.raises(NotPermitted):
        publish(org, persona(who))
    assert not PayerNotice.objects.exists()


def test_a_notice_cannot_name_another_organizations_payer(org, supervisor, other_payer):
    with pytest.raises(InvalidInput) as caught:
        publish(org, supervisor, payers=[other_payer])
    assert caught.value.field == "payers"


def test_acknowledging_twice_keeps_the_first_acknowledgement(notice, rep):
    first = services.notice_acknowledge(notice=notice, by=rep)
    second = services.notice_acknowledge(notice=notice, by=rep)
    assert first.pk == second.pk
    assert second.acknowledged_at == first.acknowledged_at
    assert NoticeAcknowledgement.objects.filter(notice=notice).count() == 1


def test_only_members_of_the_organization_acknowledge(notice, outsider):
    with pytest.raises(NotPermitted):
        services.notice_acknowledge(notice=notice, by=outsider)
    assert not NoticeAcknowledgement.objects.exists()


def test_a_withdrawn_notice_asks_nobody_to_acknowledge_it(notice, org, supervisor, rep):
    services.notice_withdraw(notice=notice, reason="payer reversed the policy", by=supervisor)
    notice.refresh_from_db()
    assert not notice.is_active
    assert last_history(notice).history_change_reason == "payer reversed the policy"
    assert last_event(org, "payers.notice.withdrawn").data == {"reason": "payer reversed the policy"}
    with pytest.raises(InvalidTransition):
        services.notice_acknowledge(notice=notice, by=rep)
    assert not PayerNotice.objects.unacknowledged_by(rep).exists()
    with pytest.raises(InvalidTransition):
        services.notice_update(notice=notice, changes={"title": "X"}, reason="late fix", by=supervisor)


def test_unacknowledged_lists_active_notices_of_the_users_organizations_whatever_their_date(
    org, other_org, supervisor, rep, outsider
):
    past = publish(org, supervisor, title="Old news", effective_date=date(2020, 1, 1))
    future = publish(org, supervisor, title="Next year", effective_date=date(2030, 1, 1))
    read = publish(org, supervisor, title="Already read")
    services.notice_acknowledge(notice=read, by=rep)
    elsewhere = publish(other_org, outsider, title="Other client")
    assert set(PayerNotice.objects.unacknowledged_by(rep)) == {past, future}
    assert set(PayerNotice.objects.unacknowledged_by(outsider)) == {elsewhere}
    assert set(PayerNotice.objects.unacknowledged_by(supervisor)) == {past, future, read}


def test_updating_a_notice_records_the_reason_and_the_payers_changed(notice, org, supervisor, payer):
    second = PayerFactory(organization=org, name="Second Payer")
    services.notice_update(
        notice=notice,
        changes={"title": "MRI and CT need prior authorization", "payers": [payer, second]},
        reason="CT added",
        by=supervisor,
    )
    notice.refresh_from_db()
    assert notice.title == "MRI and CT need prior authorization"
    assert set(notice.payers.all()) == {payer, second}
    assert last_history(notice).history_change_reason == "CT added"
    data = last_event(org, "payers.notice.updated").data
    assert data["reason"] == "CT added"
    assert set(data["changes"]) == {"title", "payers"}
    assert sorted(data["changes"]["payers"]["new"]) == sorted([str(payer.reference), str(second.reference)])


def test_the_report_lists_who_has_not_acknowledged_and_when_others_did(
    notice, org, rep, other_rep, supervisor, admin_user
):
    gone = UserFactory(full_name="Former Colleague")
    MembershipFactory(user=gone, organization=org, role=Role.REPRESENTATIVE, is_active=False)
    services.notice_acknowledge(notice=notice, by=rep)
    services.notice_acknowledge(notice=notice, by=supervisor)
    withdrawn = publish(org, supervisor, title="Withdrawn one")
    services.notice_withdraw(notice=withdrawn, reason="mistake", by=supervisor)

    [status] = notice_read_report(organization=org)
    assert status.notice == notice
    assert set(status.pending) == {other_rep, admin_user}
    assert [user for user, _ in status.acknowledged] == [rep, supervisor]
    acknowledged_at = dict(status.acknowledged)
    assert acknowledged_at[rep] == NoticeAcknowledgement.objects.get(notice=notice, user=rep).acknowledged_at
    assert status.total == 4
    assert status.percent_done == 50
    assert gone not in status.pending
    assert Membership.objects.filter(organization=org, is_active=True).count() == 4


def test_the_report_costs_a_fixed_number_of_queries(
    org, supervisor, rep, other_rep, django_assert_max_num_queries
):
    for index in range(5):
        publish(org, supervisor, title=f"Notice {index}")
    with django_assert_max_num_queries(3):
        report = notice_read_report(organization=org)
        assert len(report) == 5
        assert all(len(row.pending) == 3 for row in report)


def test_a_concurrent_second_acknowledgement_gets_the_first_row(notice, rep, monkeypatch):
    first = services.notice_acknowledge(notice=notice, by=rep)
    # A double click: the second request looked for an acknowledgement just before the
    # first one committed its row, so it saw none and goes on to write one.
    monkeypatch.setattr(
        NoticeAcknowledgement.objects, "filter", lambda *args, **kwargs: NoticeAcknowledgement.objects.none()
    )
    second = services.notice_acknowledge(notice=notice, by=rep)
    monkeypatch.undo()
    assert second.pk == first.pk
    assert NoticeAcknowledgement.objects.filter(notice=notice).count() == 1
