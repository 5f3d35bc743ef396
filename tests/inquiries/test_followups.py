"""The follow-up rules inquiries registers with worklists: pended case follow-up due, callback requested,
and unanswered email past its service level. Time travels by passing ``now``."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.audit import system_user
from inquiries import followups
from inquiries.services import cases as services
from inquiries.services.email import case_email_send, email_receive
from tests.factories import AccountFactory
from tests.factories.inquiries import CaseFactory
from worklists.registry import rules

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 4, 9, 0, tzinfo=CHICAGO)  # a Wednesday


def candidates(rule, org_ids, now):
    return list(rule(org_ids, now))


def test_the_rules_are_registered():
    registered = rules()
    for kind in ("inquiries.case_follow_up", "inquiries.callback_requested", "inquiries.email_unanswered"):
        assert kind in registered
    assert registered["inquiries.case_follow_up"].label == "Pended case follow-up due"


def test_a_pended_case_comes_back_on_its_follow_up_date(org, rep):
    case = CaseFactory(account__patient__organization=org, account__patient__preferred_language="es")
    services.case_pend(
        case=case, follow_up_on=date(2026, 11, 9), reason="Waiting for the EOB", by=rep, now=NOW
    )
    assert candidates(followups.pended_case_follow_up, [org.pk], NOW) == []
    # Sunday 11 p.m. in Chicago is already Monday in UTC: still not due.
    sunday_night = datetime(2026, 11, 8, 23, 0, tzinfo=CHICAGO)
    assert candidates(followups.pended_case_follow_up, [org.pk], sunday_night) == []
    monday = datetime(2026, 11, 9, 8, 0, tzinfo=CHICAGO)
    [candidate] = candidates(followups.pended_case_follow_up, [org.pk], monday)
    assert candidate.subject == case and candidate.organization_id == org.pk
    assert candidate.title == f"Follow up case #{case.number}"
    assert candidate.reason == "Follow-up due today: Waiting for the EOB"
    assert candidate.due_at == datetime(2026, 11, 9, 0, 0, tzinfo=CHICAGO)
    assert candidate.skills == ("lang:es",)
    later = candidates(followups.pended_case_follow_up, [org.pk], monday + timedelta(days=2))[0]
    assert later.priority > candidate.priority and later.reason.startswith("Follow-up 2 days overdue")
    assert later.dedupe_key == candidate.dedupe_key


def test_a_case_taken_again_or_resolved_leaves_the_rule(org, rep):
    case = CaseFactory(account__patient__organization=org)
    services.case_pend(case=case, follow_up_on=date(2026, 11, 9), reason="Waiting", by=rep, now=NOW)
    services.case_start(case=case, by=rep)
    assert candidates(followups.pended_case_follow_up, [org.pk], NOW + timedelta(days=10)) == []


def test_other_organizations_are_left_out(org, other_org, rep, outsider):
    mine = CaseFactory(account__patient__organization=org)
    theirs = CaseFactory(account__patient__organization=other_org)
    services.case_pend(case=mine, follow_up_on=date(2026, 11, 9), reason="x", by=rep, now=NOW)
    services.case_pend(case=theirs, follow_up_on=date(2026, 11, 9), reason="x", by=outsider, now=NOW)
    found = candidates(followups.pended_case_follow_up, [org.pk], NOW + timedelta(days=7))
    assert [c.subject for c in found] == [mine]


def test_a_callback_reaches_the_queue_shortly_before_its_time(org, rep):
    case = CaseFactory(account__patient__organization=org, priority="high")
    callback = services.callback_request(
        case=case, requested_for=NOW + timedelta(hours=2), phone="3125550100", by=rep, now=NOW
    )
    assert candidates(followups.callback_requested, [org.pk], NOW) == []
    [soon] = candidates(followups.callback_requested, [org.pk], NOW + timedelta(hours=1, minutes=50))
    assert soon.reason == "Callback requested due in 10 minutes" and soon.subject == case
    assert soon.dedupe_key == f"callback:{callback.pk}"
    [late] = candidates(followups.callback_requested, [org.pk], NOW + timedelta(hours=3))
    assert late.reason == "Callback requested 60 minutes late" and late.priority > soon.priority
    services.callback_cancel(callback=callback, reason="Done by email", by=rep)
    assert candidates(followups.callback_requested, [org.pk], NOW + timedelta(hours=3)) == []


def test_an_email_unanswered_past_its_service_level(org, rep):
    AccountFactory(patient__organization=org, patient__email="rosa@example.test", patient__ok_to_email=True)
    raw = b"Message-ID: <x1@example.test>\r\nFrom: rosa@example.test\r\nSubject: Help\r\n\r\nPlease call.\r\n"
    case = email_receive(organization=org, raw=raw, by=system_user(), now=NOW).case
    # Normal priority: 24 business hours to answer.
    assert candidates(followups.email_unanswered, [org.pk], NOW + timedelta(hours=23)) == []
    [candidate] = candidates(followups.email_unanswered, [org.pk], NOW + timedelta(hours=26))
    assert candidate.subject == case and candidate.title == f"Answer the email on case #{case.number}"
    assert candidate.reason == "Email past its reply service level by 2 hours"
    case_email_send(case=case, to="rosa@example.test", body="We will call you today.", by=rep)
    assert candidates(followups.email_unanswered, [org.pk], NOW + timedelta(hours=26)) == []


def test_the_rules_are_set_based(org, rep):
    for n in range(6):
        case = CaseFactory(account__patient__organization=org)
        services.case_pend(case=case, follow_up_on=date(2026, 11, 9), reason=f"r{n}", by=rep, now=NOW)
        services.callback_request(
            case=case, requested_for=NOW + timedelta(minutes=5), phone="3125550100", by=rep, now=NOW
        )
    later = NOW + timedelta(days=6)
    for rule in (followups.pended_case_follow_up, followups.callback_requested, followups.email_unanswered):
        with CaptureQueriesContext(connection) as queries:
            found = candidates(rule, [org.pk], later)
        assert len(queries.captured_queries) <= 1, rule.__name__
        assert len(found) in (0, 6)


def test_a_callback_on_a_resolved_case_is_not_work(org, rep):
    case = CaseFactory(account__patient__organization=org)
    services.callback_request(case=case, requested_for=NOW, phone="3125550100", by=rep, now=NOW)
    services.case_resolve(case=case, resolution="Done", by=rep)
    assert candidates(followups.callback_requested, [org.pk], NOW + timedelta(hours=1)) == []
