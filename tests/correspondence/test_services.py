"""Template and letterhead services: admins only, source checked with line numbers, one default per kind."""

from __future__ import annotations

import pytest

from core.errors import Conflict, InvalidInput, NotPermitted
from core.models import TimelineEvent
from correspondence import rendering, services
from correspondence.defaults import DEFAULTS
from correspondence.models import Letterhead, LetterTemplate
from tests.factories.correspondence import LetterTemplateFactory

BODY = "<p>Dear {{ guarantor.name }}, you owe {{ balances.amount_due|money }}.</p>"


def create(org, by, **kwargs):
    values = {"kind": "letter", "name": "Reminder", "subject": "About your account", "body": BODY}
    values.update(kwargs)
    return services.template_create(organization=org, by=by, **values)


def test_an_admin_creates_a_template_with_history_and_event(org, admin_user):
    template = create(org, admin_user)
    assert (template.kind, template.name, template.is_active) == ("letter", "Reminder", True)
    # The first active template of its kind becomes the default.
    assert template.is_default
    record = template.history.get()
    assert (record.history_user, record.history_change_reason) == (admin_user, "template created")
    event = TimelineEvent.objects.get(kind="correspondence.template.created")
    assert event.subject == org and event.summary == "Letter template Reminder created (Letter)"


@pytest.mark.parametrize("who", ["supervisor", "representative", "outsider"])
def test_only_admins_create_templates(org, persona, who):
    with pytest.raises(NotPermitted):
        create(org, persona(who))
    assert not LetterTemplate.objects.exists()


def test_a_syntax_error_is_reported_when_the_template_is_saved(org, admin_user):
    body = "<p>Dear {{ guarantor.name }},</p>\n<p>{% if balances.amount_due %}You owe.</p>\n"
    with pytest.raises(InvalidInput) as caught:
        create(org, admin_user, body=body)
    assert caught.value.field == "body"
    assert caught.value.message.startswith("body: line 2: Unclosed tag on line 2: 'if'")
    with pytest.raises(InvalidInput, match=r"^subject: line 1: "):
        create(org, admin_user, subject="Account {{ account.number|nosuchfilter }}")


def test_names_are_unique_in_an_organization(org, other_org, admin_user, outsider):
    create(org, admin_user)
    with pytest.raises(Conflict, match=r"^name: a template named 'reminder' already exists"):
        create(org, admin_user, name="reminder")
    # Another organization may use the name.
    assert create(other_org, outsider).organization == other_org


def test_making_a_template_the_default_takes_the_mark_off_the_other(org, admin_user):
    first = create(org, admin_user)
    second = create(org, admin_user, name="Friendlier reminder")
    assert (first.is_default, second.is_default) == (True, False)

    services.template_update(template=second, by=admin_user, reason="friendlier", is_default=True)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    assert first.history.first().history_change_reason == "Friendlier reminder became the default"
    assert second.history.first().history_change_reason == "friendlier"


def test_the_default_cannot_be_switched_off_or_deactivated(org, admin_user):
    template = create(org, admin_user)
    with pytest.raises(InvalidInput, match=r"^is_default: every kind needs a default"):
        services.template_update(template=template, by=admin_user, reason="x", is_default=False)
    with pytest.raises(InvalidInput, match=r"^is_active: the default template of a kind cannot be inactive"):
        services.template_update(template=template, by=admin_user, reason="x", is_active=False)


def test_an_update_records_the_changed_fields_and_reason(org, admin_user):
    template = create(org, admin_user)
    services.template_update(
        template=template, by=admin_user, reason="plainer words", subject="Your account", body=BODY
    )
    template.refresh_from_db()
    assert template.subject == "Your account"
    event = TimelineEvent.objects.get(kind="correspondence.template.updated")
    assert event.summary == "Letter template Reminder changed: subject"
    assert event.data == {
        "template": str(template.reference),
        "fields": ["subject"],
        "reason": "plainer words",
    }


def test_an_update_needs_a_reason_and_an_admin(org, admin_user, supervisor):
    template = create(org, admin_user)
    with pytest.raises(InvalidInput, match=r"^reason: "):
        services.template_update(template=template, by=admin_user, reason=" ", subject="New")
    with pytest.raises(NotPermitted):
        services.template_update(template=template, by=supervisor, reason="x", subject="New")


def test_an_update_checks_the_source(org, admin_user):
    template = create(org, admin_user)
    with pytest.raises(InvalidInput, match=r"^body: line 3: Invalid block tag on line 3: 'endfor'"):
        services.template_update(template=template, by=admin_user, reason="x", body="<p>\n</p>\n{% endfor %}")
    template.refresh_from_db()
    assert template.body == BODY


def test_standard_templates_are_added_once(org, rep):
    created = services.templates_ensure_defaults(organization=org, by=rep)
    assert [t.name for t in created] == [d.name for d in DEFAULTS]
    assert all(t.is_default and t.is_active for t in created)
    assert services.templates_ensure_defaults(organization=org, by=rep) == []
    assert LetterTemplate.objects.filter(organization=org).count() == len(DEFAULTS)


def test_standard_templates_fill_only_the_kinds_without_a_default(org, admin_user):
    mine = create(
        org, admin_user, kind="patient_statement", name="Standard patient statement", is_active=True
    )
    created = services.templates_ensure_defaults(organization=org, by=admin_user)
    assert "patient_statement" not in {t.kind for t in created}
    assert services.template_default(organization=org, kind="patient_statement", by=admin_user) == mine


def test_a_standard_template_does_not_take_a_name_in_use(org, admin_user):
    LetterTemplateFactory(organization=org, kind="letter", name="Balance reminder letter", is_active=False)
    created = {t.kind: t for t in services.templates_ensure_defaults(organization=org, by=admin_user)}
    assert created["letter"].name == "Balance reminder letter 2"


def test_the_letterhead_is_created_then_changed(org, admin_user):
    assert Letterhead.of(org).pk is None
    services.letterhead_update(
        organization=org,
        changes={
            "billing_phone": "(217) 555-0142",
            "return_address": "1200 River Road\nSpringfield, IL 62701",
        },
        reason="new office",
        by=admin_user,
    )
    letterhead = Letterhead.of(org)
    assert letterhead.as_context()["return_address_lines"] == ["1200 River Road", "Springfield, IL 62701"]
    # Empty fields fall back: checks are payable to the organization, help is at the billing phone.
    assert letterhead.as_context()["payable_to"] == org.name
    assert letterhead.as_context()["assistance_phone"] == "(217) 555-0142"

    services.letterhead_update(
        organization=org, changes={"statement_due_days": 25}, reason="policy", by=admin_user
    )
    letterhead.refresh_from_db()
    assert letterhead.statement_due_days == 25
    assert letterhead.history.count() == 2
    assert TimelineEvent.objects.filter(kind="correspondence.letterhead.updated").count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"statement_due_days": 0}, "statement_due_days"),
        ({"payment_portal_url": "not a url"}, "payment_portal_url"),
        ({"logo": "x"}, "logo"),
    ],
)
def test_the_letterhead_refuses_bad_values(org, admin_user, changes, field):
    with pytest.raises(InvalidInput) as caught:
        services.letterhead_update(organization=org, changes=changes, reason="x", by=admin_user)
    assert caught.value.field == field


def test_only_admins_change_the_letterhead(org, supervisor):
    with pytest.raises(NotPermitted):
        services.letterhead_update(
            organization=org, changes={"billing_phone": "1"}, reason="x", by=supervisor
        )


def test_a_template_that_cannot_be_drawn_as_a_pdf_is_refused_when_saved(org, admin_user):
    too_deep = "<div>" * 300 + "{{ account.number }}" + "</div>" * 300
    with pytest.raises(rendering.RenderError) as caught:
        create(org, admin_user, body=too_deep)
    assert caught.value.field == "body"
    assert caught.value.message == "body: the PDF could not be drawn (RenderLimitError)"
    assert not LetterTemplate.objects.exists()
