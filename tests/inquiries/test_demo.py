"""The demo case work: made through the services in the demo organizations, once."""

from __future__ import annotations

from inquiries import demo
from inquiries.models import Case, Department, Referral, Script
from staff import demo as staff_demo
from staff.models import Organization
from tests.factories import AccountFactory


def test_the_demo_seeds_each_demo_organization_once(db, settings):
    settings.DEMO_PASSWORD = "demo-pass-2026"
    staff_demo.seed()
    riverside = Organization.objects.get(slug="riverside")
    for n in range(5):
        AccountFactory(patient__organization=riverside, patient__email=f"p{n}@example.test" if n == 4 else "")
    made = demo.seed()
    assert made == 5
    assert Department.objects.filter(organization=riverside).count() == len(demo.DEPARTMENTS)
    assert Script.objects.filter(organization=riverside).count() == 2
    cases = Case.objects.filter(organization=riverside)
    assert set(cases.values_list("status", flat=True)) >= {"pended", "resolved", "in_progress"}
    assert cases.filter(channel="email_inbound", awaiting_reply_since__isnull=False).count() == 1
    assert Referral.objects.filter(case__organization=riverside).exists()
    # The other demo organizations have no accounts here: their settings exist, their cases do not.
    assert Department.objects.filter(organization__slug="corner-drug").exists()
    assert demo.seed() == 0
