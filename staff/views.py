from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core.history import history_rows
from staff.forms import SwitchOrganizationForm
from staff.middleware import SESSION_KEY
from staff.models import Role
from staff.permissions import can_view_history, memberships_of
from staff.phi import phi_access_record

# What each role can open today. Only pages that exist are listed, so the home page
# never promises a screen that is not there. URL names of higher apps are plain strings:
# staff does not import them.
_FIND = (
    "accounts:patient_search",
    "Find a patient",
    "Search by name, date of birth, account, member id or phone.",
)
_NOTICES = ("payers:notice_list", "Payer notices", "Policy and plan changes to read and acknowledge.")
_PAYERS = ("payers:payer_list", "Payers", "Payer contacts, plans, filing rules and fee schedules.")
_CLAIMS = ("claims:claim_list", "Claims", "Claims by status and payer, with their remittances and deadlines.")
_DENIALS = (
    "claims:denial_list",
    "Denials",
    "Denied claims and lines by payer, reason and category, to work.",
)
_RECONCILE = (
    "claims:reconciliation",
    "Daily reconciliation",
    "Deposits received against remittances posted.",
)
_CASES = (
    "inquiries:case_list",
    "Cases",
    "Calls, emails and letters: verify the caller, log contacts, pend, resolve.",
)
_AG = (
    "inquiries:referral_list",
    "Appeals & grievances queue",
    "Grievances, appeals and disputes referred from cases.",
)
_QA = ("inquiries:qa_home", "Quality reviews", "Score contacts; averages per representative and criterion.")
_MY_WORK = (
    "worklists:my_work",
    "My work",
    "Take the next item from your queues; what you have in progress and what is due today.",
)
_QUEUES = (
    "worklists:queue_list",
    "Work queues",
    "Queues and who works them, caps, escalations; move and reassign items; refresh the rules.",
)
_ROLE_TASKS: dict[str, list[tuple[str, str, str]]] = {
    Role.REPRESENTATIVE: [_MY_WORK, _FIND, _CASES, _CLAIMS, _NOTICES, _PAYERS],
    Role.SENIOR_REPRESENTATIVE: [_MY_WORK, _FIND, _CASES, _CLAIMS, _DENIALS, _NOTICES, _PAYERS],
    Role.APPEALS_COORDINATOR: [_MY_WORK, _FIND, _AG, _CASES, _DENIALS, _CLAIMS, _NOTICES, _PAYERS],
    Role.POSTING_SPECIALIST: [
        _MY_WORK,
        _FIND,
        ("claims:remittance_inbox", "Remittances", "Import 835 files and see what posted."),
        (
            "claims:exception_list",
            "Posting exceptions",
            "Claim payments that need a person before they post.",
        ),
        _DENIALS,
        ("claims:variance_list", "Variances", "Payments off the contract, and credits to review for refund."),
        _RECONCILE,
        (
            "accounts:import_upload",
            "Import CSV",
            "Load patients, accounts, coverages and charges from a file.",
        ),
        _NOTICES,
        _PAYERS,
    ],
    Role.SUPERVISOR: [
        _MY_WORK,
        _QUEUES,
        _FIND,
        _CASES,
        ("accounts:approvals", "Approvals", "Adjustments and write-offs above a requester's limit."),
        _AG,
        _QA,
        _DENIALS,
        _RECONCILE,
        ("payers:notice_report", "Notice acknowledgements", "Who has not yet read a payer notice."),
        (
            "staff:members",
            "Members and roles",
            "See who works for this organization, in which role and team.",
        ),
        (
            "staff:approval_limits",
            "Approval limits",
            "How much each role may write off, refund or adjust alone.",
        ),
        ("staff:access_log", "PHI access log", "Who viewed which patient record, when and from where."),
    ],
    Role.ADMIN: [
        _QUEUES,
        _PAYERS,
        ("inquiries:case_settings", "Case settings", "Service levels and the caller verification policy."),
        ("inquiries:script_list", "Call scripts", "Approved call flows and required disclosures."),
        ("correspondence:template_list", "Letter templates", "Statements, itemized statements and letters."),
        ("staff:members", "Members and roles", "Add people, change roles and teams, remove access."),
        ("staff:approval_limits", "Approval limits", "Set write-off, refund and adjustment limits per role."),
        ("staff:organization_settings", "Organization settings", "Name, time zone and office closure days."),
        ("staff:access_log", "PHI access log", "Who viewed which patient record, when and from where."),
    ],
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    tasks = _ROLE_TASKS.get(membership.role, []) if membership else []
    return render(request, "staff/home.html", {"membership": membership, "tasks": tasks})


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    form = SwitchOrganizationForm(request.POST)
    target = None
    if form.is_valid():
        target = next(
            (
                m
                for m in memberships_of(request.user).values()
                if m.organization.reference == form.cleaned_data["organization"]
            ),
            None,
        )
    if target is None:
        # Same answer whether the organization exists or not: no probing of other clients.
        raise Http404("No such organization")
    request.session[SESSION_KEY] = target.organization_id
    messages.success(request, f"You are now working in {target.organization.name}.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "staff:home"
    return redirect(next_url)


@login_required
def object_history(request: HttpRequest, app_label: str, model: str, reference: str) -> HttpResponse:
    """Change history of any history-tracked object, for those who may see it."""
    try:
        model_class = apps.get_model(app_label, model)
    except LookupError:
        raise Http404("No such record type") from None
    if not hasattr(model_class, "history") or not any(
        f.name == "reference" for f in model_class._meta.fields
    ):
        raise Http404("This record type has no history")
    obj = model_class._default_manager.filter(reference=reference).first()
    # Same answer for "no such record" and "not yours": another organization's records stay unknown.
    if obj is None or not can_view_history(request.user, obj):
        raise Http404("No such record")
    if getattr(model_class, "contains_phi", False):
        phi_access_record(request=request, subject=obj, organization=obj.organization)
    return render(
        request,
        "core/history.html",
        {
            "object": obj,
            "model_name": model_class._meta.verbose_name,
            "rows": history_rows(obj),
        },
    )
