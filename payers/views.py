"""Pages of the payer master: payers, plans, rules with appeal levels, contracts and fee schedules.

Everyone in the active organization (``request.organization``) reads these pages; only
admins change anything. Change views check ``can_manage_payers`` on the active
organization first (so a representative gets 403 whatever the reference), then load
the row inside that organization only (404 for anything else), validate a form and call
exactly one service, then redirect with a message that says what happened (PRG).
A service's refusal (a domain error naming its field) is shown on the form.

Payer notices have their own module, ``payers.views_notices``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.csvimport import CsvRejected
from core.errors import DomainError
from core.forms import add_refusal, error_summary
from core.timeline import timeline_for
from payers import fee_import, services
from payers.filtersets import PayerFilterSet
from payers.forms import (
    AppealLevelEditForm,
    AppealLevelForm,
    AppealLevelRows,
    ContractCreateForm,
    ContractEditForm,
    ContractForm,
    FeeEntryEditForm,
    FeeEntryFilterForm,
    FeeEntryForm,
    FeeScheduleImportForm,
    PayerEditForm,
    PayerForm,
    PlanEditForm,
    PlanForm,
    RuleCreateForm,
    RuleEditForm,
    RuleForm,
)
from payers.models import (
    AppealLevel,
    Contract,
    FeeScheduleEntry,
    Payer,
    PayerNotice,
    PayerRule,
    Plan,
    status_on,
)
from payers.permissions import can_manage_payers, can_publish_notices, can_view_payers
from staff.forms import ReasonForm
from staff.models import Organization
from staff.permissions import require

PAYERS_PER_PAGE = 50
ENTRIES_PER_PAGE = 100
TIMELINE_LENGTH = 20
CHANGES_SHOWN = 10

# What a service may refuse with: a business rule (bad input, overlap, rows changed
# meanwhile) or a permission re-checked inside the transaction.
_REFUSALS = (DomainError, PermissionDenied)

Predicate = Callable[[Any, Organization], bool]
FORM_METHODS = require_http_methods(["GET", "HEAD", "POST"])


# --- plumbing ----------------------------------------------------------------------------------


def active_organization(request: HttpRequest, predicate: Predicate = can_view_payers) -> Organization:
    """The active organization, if ``predicate`` allows the user there; otherwise 403."""
    organization = getattr(request, "organization", None)
    require(organization is not None and predicate(request.user, organization))
    return organization


def scoped(model: type, request: HttpRequest, organization: Organization) -> QuerySet:
    """Rows of ``model`` the user may see, in the active organization only."""
    return model.objects.visible_to(request.user).in_organization(organization)


def run(form: forms.Form, service: Callable[..., Any], **kwargs: Any) -> Any | None:
    """Call ``service`` once; on refusal record it on ``form`` and return None."""
    try:
        return service(**kwargs)
    except _REFUSALS as exc:
        add_refusal(form, exc)
        return None


def changed_fields(form: forms.Form, names: Any) -> dict[str, Any]:
    """The cleaned values of ``names``: what an edit form sends to an ``*_update`` service."""
    return {name: form.cleaned_data[name] for name in names}


def form_page(
    request: HttpRequest,
    *,
    form: forms.Form,
    title: str,
    submit: str,
    cancel_url: str,
    crumbs: list[tuple[str, str]],
    intro: str = "",
    multipart: bool = False,
) -> HttpResponse:
    return render(
        request,
        "payers/form_page.html",
        {
            "form": form,
            "title": title,
            "submit": submit,
            "cancel_url": cancel_url,
            "crumbs": crumbs,
            "intro": intro,
            "multipart": multipart,
        },
    )


def _payer_crumbs(payer: Payer) -> list[tuple[str, str]]:
    return [
        (reverse("payers:payer_list"), "Payers"),
        (reverse("payers:payer_detail", args=[payer.reference]), payer.name),
    ]


def _not_saved(request: HttpRequest, what: str, form: forms.Form) -> None:
    messages.error(request, f"{what} not saved. {error_summary(form)}")


# --- payers ------------------------------------------------------------------------------------


@login_required
@require_safe
def payer_list(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    queryset = (
        scoped(Payer, request, organization)
        .annotate(active_plans=Count("plans", filter=Q(plans__is_active=True)))
        .order_by("name", "pk")
    )
    filterset = PayerFilterSet(request.GET, queryset=queryset)
    page = Paginator(filterset.qs, PAYERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "payers/payer_list.html",
        {
            "organization": organization,
            "filterset": filterset,
            "filtered": any(request.GET.get(name) for name in ("q", "kind", "status")),
            "page": page,
            "can_manage": can_manage_payers(request.user, organization),
            "unread_notices": PayerNotice.objects.unacknowledged_by(request.user)
            .in_organization(organization)
            .count(),
        },
    )


@login_required
@FORM_METHODS
def payer_create(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    form = PayerForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            payer = run(
                form,
                services.payer_create,
                organization=organization,
                by=request.user,
                **form.cleaned_data,
            )
            if payer is not None:
                messages.success(
                    request, f"Payer {payer.name} added. Next: add its plans, payer rules and contracts."
                )
                return redirect("payers:payer_detail", payer.reference)
        _not_saved(request, "Payer", form)
    return form_page(
        request,
        form=form,
        title="Add a payer",
        submit="Add payer",
        cancel_url=reverse("payers:payer_list"),
        crumbs=[(reverse("payers:payer_list"), "Payers")],
        intro="An insurer, government program or pharmacy benefit manager that pays this "
        "organization's claims. Plans, rules and contracts are added on the payer's page.",
    )


@login_required
@require_safe
def payer_detail(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request)
    payer = get_object_or_404(scoped(Payer, request, organization), reference=reference)
    today = timezone.localdate()
    rules = list(
        PayerRule.objects.filter(payer=payer)
        .prefetch_related(Prefetch("appeal_levels", AppealLevel.objects.order_by("level")))
        .order_by("effective_from")
    )
    for rule in rules:
        rule.status = status_on(rule, today)
    contracts = list(
        Contract.objects.filter(payer=payer)
        .select_related("plan")
        .annotate(entry_count=Count("fee_entries"))
        .order_by("-effective_from", "name")
    )
    for contract in contracts:
        contract.status = status_on(contract, today)
    notices = (
        PayerNotice.objects.in_organization(organization)
        .filter(Q(payers=payer) | Q(plans__payer=payer))
        .distinct()
        .with_acknowledgement(request.user)
        .order_by("-effective_date", "-created_at")
    )
    return render(
        request,
        "payers/payer_detail.html",
        {
            "organization": organization,
            "payer": payer,
            "plans": Plan.objects.filter(payer=payer).order_by("-is_active", "name", "group_number"),
            "rules": rules,
            "contracts": contracts,
            "notices": notices,
            "timeline": timeline_for(payer)[:TIMELINE_LENGTH],
            "can_manage": can_manage_payers(request.user, organization),
            "can_publish": can_publish_notices(request.user, organization),
            "reason_form": ReasonForm(auto_id="payer_status_%s"),
        },
    )


@login_required
@FORM_METHODS
def payer_edit(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    payer = get_object_or_404(scoped(Payer, request, organization), reference=reference)
    form = PayerEditForm(request.POST or None, initial=PayerForm.initial_from(payer))
    if request.method == "POST":
        if form.is_valid():
            if not set(form.changed_data) - {"reason"}:
                messages.info(request, f"Nothing to save: no detail of {payer.name} was changed.")
                return redirect("payers:payer_detail", payer.reference)
            updated = run(
                form,
                services.payer_update,
                payer=payer,
                changes=changed_fields(form, PayerForm.base_fields),
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            if updated is not None:
                messages.success(request, f"Payer {updated.name} saved.")
                return redirect("payers:payer_detail", updated.reference)
        _not_saved(request, "Payer", form)
    return form_page(
        request,
        form=form,
        title=f"Edit {payer.name}",
        submit="Save payer",
        cancel_url=reverse("payers:payer_detail", args=[payer.reference]),
        crumbs=_payer_crumbs(payer),
    )


def _set_payer_active(request: HttpRequest, reference: Any, *, active: bool) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    payer = get_object_or_404(scoped(Payer, request, organization), reference=reference)
    form = ReasonForm(request.POST)
    if form.is_valid():
        run(
            form,
            services.payer_set_active,
            payer=payer,
            active=active,
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
    verb = "reactivated" if active else "deactivated"
    if form.errors:
        messages.error(request, f"Payer not {verb}. {error_summary(form)}")
    elif active:
        messages.success(request, f"Payer {payer.name} reactivated.")
    else:
        messages.success(
            request,
            f"Payer {payer.name} deactivated. Existing coverages and claims keep it; reactivate it any time.",
        )
    return redirect("payers:payer_detail", payer.reference)


@login_required
@require_POST
def payer_deactivate(request: HttpRequest, reference: Any) -> HttpResponse:
    return _set_payer_active(request, reference, active=False)


@login_required
@require_POST
def payer_reactivate(request: HttpRequest, reference: Any) -> HttpResponse:
    return _set_payer_active(request, reference, active=True)


# --- plans ---------------------------------------------------------------------------------------


@login_required
@FORM_METHODS
def plan_create(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    payer = get_object_or_404(scoped(Payer, request, organization), reference=reference)
    form = PlanForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            plan = run(form, services.plan_create, payer=payer, by=request.user, **form.cleaned_data)
            if plan is not None:
                messages.success(request, f"Plan {plan.name} added to {payer.name}.")
                return redirect(f"{reverse('payers:payer_detail', args=[payer.reference])}#plans")
        _not_saved(request, "Plan", form)
    return form_page(
        request,
        form=form,
        title=f"Add a plan to {payer.name}",
        submit="Add plan",
        cancel_url=reverse("payers:payer_detail", args=[payer.reference]),
        crumbs=_payer_crumbs(payer),
    )


@login_required
@FORM_METHODS
def plan_edit(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    plan = get_object_or_404(scoped(Plan, request, organization).select_related("payer"), reference=reference)
    form = PlanEditForm(request.POST or None, initial=PlanForm.initial_from(plan))
    if request.method == "POST":
        if form.is_valid():
            if not set(form.changed_data) - {"reason"}:
                messages.info(request, f"Nothing to save: no detail of plan {plan.name} was changed.")
                return redirect(f"{reverse('payers:payer_detail', args=[plan.payer.reference])}#plans")
            updated = run(
                form,
                services.plan_update,
                plan=plan,
                changes=changed_fields(form, PlanForm.base_fields),
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            if updated is not None:
                messages.success(request, f"Plan {updated.name} saved.")
                return redirect(f"{reverse('payers:payer_detail', args=[plan.payer.reference])}#plans")
        _not_saved(request, "Plan", form)
    return form_page(
        request,
        form=form,
        title=f"Edit plan {plan.name}",
        submit="Save plan",
        cancel_url=reverse("payers:payer_detail", args=[plan.payer.reference]),
        crumbs=_payer_crumbs(plan.payer),
    )


def _set_plan_active(request: HttpRequest, reference: Any, *, active: bool) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    plan = get_object_or_404(scoped(Plan, request, organization).select_related("payer"), reference=reference)
    form = ReasonForm(request.POST)
    if form.is_valid():
        run(
            form,
            services.plan_set_active,
            plan=plan,
            active=active,
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
    verb = "reactivated" if active else "deactivated"
    if form.errors:
        messages.error(request, f"Plan not {verb}. {error_summary(form)}")
    else:
        messages.success(request, f"Plan {plan.name} {verb}.")
    return redirect(f"{reverse('payers:payer_detail', args=[plan.payer.reference])}#plans")


@login_required
@require_POST
def plan_deactivate(request: HttpRequest, reference: Any) -> HttpResponse:
    return _set_plan_active(request, reference, active=False)


@login_required
@require_POST
def plan_reactivate(request: HttpRequest, reference: Any) -> HttpResponse:
    return _set_plan_active(request, reference, active=True)


# --- payer rules and appeal levels -------------------------------------------------------------------


def _rule_url(payer: Payer) -> str:
    return f"{reverse('payers:payer_detail', args=[payer.reference])}#rules"


@login_required
@FORM_METHODS
def rule_create(request: HttpRequest, reference: Any) -> HttpResponse:
    """New rules for a payer, with their appeal levels; prefilled from the latest rules."""
    organization = active_organization(request, can_manage_payers)
    payer = get_object_or_404(scoped(Payer, request, organization), reference=reference)
    latest = (
        PayerRule.objects.filter(payer=payer)
        .prefetch_related(Prefetch("appeal_levels", AppealLevel.objects.order_by("level")))
        .order_by("-effective_from")
        .first()
    )
    if request.method == "POST":
        form = RuleCreateForm(request.POST)
        levels = AppealLevelRows(request.POST)
        # Both checked, so every mistake on the page is shown at once.
        form_valid, levels_valid = form.is_valid(), levels.is_valid()
        if form_valid and levels_valid:
            rule = run(
                form,
                services.payer_rule_create,
                payer=payer,
                by=request.user,
                appeal_levels=levels.levels(),
                **form.cleaned_data,
            )
            if rule is not None:
                count = len(levels.levels())
                text = (
                    f"Rules for {payer.name} from {rule.effective_from:%Y-%m-%d} added with {count} "
                    f"appeal level{'s' if count != 1 else ''}."
                )
                ended = rule.ended_rule
                if ended is not None:
                    start, end = ended.effective_from, ended.effective_to
                    text += f" The rules from {start:%Y-%m-%d} now end {end:%Y-%m-%d}."
                messages.success(request, text)
                return redirect(_rule_url(payer))
        messages.error(request, f"Rules not added. {error_summary(form)} {levels.error_summary()}".strip())
    else:
        initial = RuleForm.initial_from(latest) if latest else {}
        initial.pop("effective_from", None)
        initial.pop("effective_to", None)
        form = RuleCreateForm(initial=initial)
        levels = AppealLevelRows(
            initial=[AppealLevelForm.initial_from(level) for level in latest.appeal_levels.all()]
            if latest
            else []
        )
    return render(
        request,
        "payers/rule_create.html",
        {"payer": payer, "form": form, "levels": levels, "latest": latest, "crumbs": _payer_crumbs(payer)},
    )


def _render_rule_edit(
    request: HttpRequest,
    rule: PayerRule,
    *,
    rule_form: forms.Form | None = None,
    level_forms: dict[Any, forms.Form] | None = None,
    add_form: forms.Form | None = None,
) -> HttpResponse:
    level_forms = level_forms or {}
    levels = list(rule.appeal_levels.order_by("level"))
    rows = [
        (
            level,
            level_forms.get(level.reference)
            or AppealLevelEditForm(
                initial=AppealLevelForm.initial_from(level), prefix=f"level-{level.reference}"
            ),
            ReasonForm(prefix=f"remove-{level.reference}"),
        )
        for level in levels
    ]
    next_level = (levels[-1].level + 1) if levels else 1
    return render(
        request,
        "payers/rule_edit.html",
        {
            "rule": rule,
            "payer": rule.payer,
            "rule_form": rule_form or RuleEditForm(initial=RuleForm.initial_from(rule), auto_id="rule_%s"),
            "level_rows": rows,
            "add_form": add_form or AppealLevelForm(initial={"level": next_level}, prefix="add-level"),
            "crumbs": _payer_crumbs(rule.payer),
        },
    )


def _rule_in(request: HttpRequest, organization: Organization, reference: Any) -> PayerRule:
    return get_object_or_404(
        scoped(PayerRule, request, organization).select_related("payer"), reference=reference
    )


@login_required
@FORM_METHODS
def rule_edit(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    rule = _rule_in(request, organization, reference)
    if request.method != "POST":
        return _render_rule_edit(request, rule)
    form = RuleEditForm(request.POST, initial=RuleForm.initial_from(rule), auto_id="rule_%s")
    if form.is_valid():
        if not set(form.changed_data) - {"reason"}:
            messages.info(request, "Nothing to save: no value of these rules was changed.")
            return redirect("payers:rule_edit", rule.reference)
        updated = run(
            form,
            services.payer_rule_update,
            rule=rule,
            changes=changed_fields(form, RuleForm.base_fields),
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        if updated is not None:
            messages.success(
                request, f"Rules for {rule.payer.name} from {updated.effective_from:%Y-%m-%d} saved."
            )
            return redirect(_rule_url(rule.payer))
    _not_saved(request, "Rules", form)
    return _render_rule_edit(request, rule, rule_form=form)


@login_required
@require_POST
def appeal_level_add(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    rule = _rule_in(request, organization, reference)
    form = AppealLevelForm(request.POST, prefix="add-level")
    if form.is_valid():
        level = run(form, services.appeal_level_add, rule=rule, by=request.user, **form.cleaned_data)
        if level is not None:
            messages.success(request, f"Appeal level {level.level} ({level.name}) added.")
            return redirect("payers:rule_edit", rule.reference)
    messages.error(request, f"Appeal level not added. {error_summary(form)}")
    return _render_rule_edit(request, rule, add_form=form)


def _level_in(request: HttpRequest, organization: Organization, reference: Any) -> AppealLevel:
    return get_object_or_404(
        scoped(AppealLevel, request, organization).select_related("rule__payer"), reference=reference
    )


@login_required
@require_POST
def appeal_level_edit(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    level = _level_in(request, organization, reference)
    form = AppealLevelEditForm(
        request.POST, initial=AppealLevelForm.initial_from(level), prefix=f"level-{level.reference}"
    )
    if form.is_valid():
        updated = run(
            form,
            services.appeal_level_update,
            appeal_level=level,
            changes=changed_fields(form, AppealLevelForm.base_fields),
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        if updated is not None:
            messages.success(request, f"Appeal level {updated.level} ({updated.name}) saved.")
            return redirect("payers:rule_edit", level.rule.reference)
    messages.error(request, f"Appeal level {level.level} not saved. {error_summary(form)}")
    return _render_rule_edit(request, level.rule, level_forms={level.reference: form})


@login_required
@require_POST
def appeal_level_remove(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    level = _level_in(request, organization, reference)
    rule = level.rule
    form = ReasonForm(request.POST, prefix=f"remove-{level.reference}")
    if form.is_valid():
        run(
            form,
            services.appeal_level_remove,
            appeal_level=level,
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
    if form.errors:
        messages.error(request, f"Appeal level {level.level} not removed. {error_summary(form)}")
    else:
        messages.success(request, f"Appeal level {level.level} ({level.name}) removed.")
    return redirect("payers:rule_edit", rule.reference)


# --- contracts -----------------------------------------------------------------------------------


@login_required
@FORM_METHODS
def contract_create(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    payer = get_object_or_404(scoped(Payer, request, organization), reference=reference)
    form = ContractCreateForm(request.POST or None, payer=payer)
    if request.method == "POST":
        if form.is_valid():
            contract = run(form, services.contract_create, payer=payer, by=request.user, **form.cleaned_data)
            if contract is not None:
                messages.success(
                    request,
                    f"Contract {contract.name} added. Add its fee schedule here, one price at a time "
                    "or from a CSV file.",
                )
                return redirect("payers:contract_detail", contract.reference)
        _not_saved(request, "Contract", form)
    return form_page(
        request,
        form=form,
        title=f"Add a contract with {payer.name}",
        submit="Add contract",
        cancel_url=reverse("payers:payer_detail", args=[payer.reference]),
        crumbs=_payer_crumbs(payer),
    )


def _contract_in(request: HttpRequest, organization: Organization, reference: Any) -> Contract:
    return get_object_or_404(
        scoped(Contract, request, organization).select_related("payer", "plan"), reference=reference
    )


def _contract_crumbs(contract: Contract) -> list[tuple[str, str]]:
    return [
        *_payer_crumbs(contract.payer),
        (reverse("payers:contract_detail", args=[contract.reference]), contract.name),
    ]


@login_required
@FORM_METHODS
def contract_edit(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    contract = _contract_in(request, organization, reference)
    form = ContractEditForm(
        request.POST or None, payer=contract.payer, initial=ContractForm.initial_from(contract)
    )
    if request.method == "POST":
        if form.is_valid():
            if not set(form.changed_data) - {"reason"}:
                messages.info(request, f"Nothing to save: no detail of {contract.name} was changed.")
                return redirect("payers:contract_detail", contract.reference)
            updated = run(
                form,
                services.contract_update,
                contract=contract,
                changes=changed_fields(form, ContractForm.base_fields),
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            if updated is not None:
                messages.success(request, f"Contract {updated.name} saved.")
                return redirect("payers:contract_detail", contract.reference)
        _not_saved(request, "Contract", form)
    return form_page(
        request,
        form=form,
        title=f"Edit contract {contract.name}",
        submit="Save contract",
        cancel_url=reverse("payers:contract_detail", args=[contract.reference]),
        crumbs=_contract_crumbs(contract),
    )


def _render_contract(
    request: HttpRequest,
    organization: Organization,
    contract: Contract,
    *,
    entry_form: forms.Form | None = None,
    import_form: forms.Form | None = None,
    import_errors: list | None = None,
    import_total: int = 0,
    import_filename: str = "",
) -> HttpResponse:
    today = timezone.localdate()
    filter_form = FeeEntryFilterForm(request.GET or None)
    entries = FeeScheduleEntry.objects.filter(contract=contract).order_by(
        "code", "modifier", "effective_from", "pk"
    )
    code = filter_form.cleaned_data.get("code", "") if filter_form.is_valid() else ""
    if code:
        entries = entries.filter(code__startswith=code.strip().upper())
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    for entry in page:
        entry.status = status_on(entry, today)
    can_manage = can_manage_payers(request.user, organization)
    context: dict[str, Any] = {
        "organization": organization,
        "contract": contract,
        "payer": contract.payer,
        "status": status_on(contract, today),
        "filter_form": filter_form,
        "code": code,
        "page": page,
        "can_manage": can_manage,
        "columns": fee_import.COLUMNS,
        "crumbs": _payer_crumbs(contract.payer),
    }
    if can_manage:
        context.update(
            {
                "entry_form": entry_form or FeeEntryForm(initial={"effective_from": contract.effective_from}),
                "import_form": import_form or FeeScheduleImportForm(),
                "import_errors": import_errors,
                "import_total": import_total,
                "import_filename": import_filename,
            }
        )
    return render(request, "payers/contract_detail.html", context)


@login_required
@require_safe
def contract_detail(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request)
    return _render_contract(request, organization, _contract_in(request, organization, reference))


@login_required
@require_POST
def fee_entry_create(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    contract = _contract_in(request, organization, reference)
    form = FeeEntryForm(request.POST)
    if form.is_valid():
        entry = run(
            form, services.fee_schedule_entry_create, contract=contract, by=request.user, **form.cleaned_data
        )
        if entry is not None:
            price = services.fee_price_text(entry.allowed_amount, entry.percent_of_charges)
            messages.success(request, f"{entry} priced at {price} from {entry.effective_from:%Y-%m-%d}.")
            return redirect(
                f"{reverse('payers:contract_detail', args=[contract.reference])}?code={entry.code}"
            )
    messages.error(request, f"Price not added. {error_summary(form)}")
    return _render_contract(request, organization, contract, entry_form=form)


@login_required
@FORM_METHODS
def fee_entry_edit(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    entry = get_object_or_404(
        scoped(FeeScheduleEntry, request, organization).select_related("contract__payer"), reference=reference
    )
    contract = entry.contract
    form = FeeEntryEditForm(request.POST or None, initial=FeeEntryEditForm.initial_from(entry))
    back = f"{reverse('payers:contract_detail', args=[contract.reference])}?code={entry.code}"
    if request.method == "POST":
        if form.is_valid():
            if not set(form.changed_data) - {"reason"}:
                messages.info(request, f"Nothing to save: the price of {entry} was not changed.")
                return redirect(back)
            updated = run(
                form,
                services.fee_schedule_entry_update,
                entry=entry,
                changes=changed_fields(form, services.FEE_ENTRY_FIELDS),
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            if updated is not None:
                messages.success(
                    request,
                    f"{updated} from {updated.effective_from:%Y-%m-%d} saved: "
                    f"{services.fee_price_text(updated.allowed_amount, updated.percent_of_charges)}.",
                )
                return redirect(back)
        _not_saved(request, "Price", form)
    return form_page(
        request,
        form=form,
        title=f"Edit the price of {entry} from {entry.effective_from:%Y-%m-%d}",
        submit="Save price",
        cancel_url=back,
        crumbs=_contract_crumbs(contract),
        intro="To price the code differently from a later date, add a new price from that date "
        "and end this one, rather than changing this one.",
    )


@login_required
@require_POST
def fee_schedule_import(request: HttpRequest, reference: Any) -> HttpResponse:
    organization = active_organization(request, can_manage_payers)
    contract = _contract_in(request, organization, reference)
    form = FeeScheduleImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.fee_schedule_import(
                contract=contract,
                content=upload.read(),
                by=request.user,
                filename=upload.name,
                end_previous=form.cleaned_data["end_previous"],
            )
        except CsvRejected as exc:
            messages.error(
                request,
                f"{upload.name} was not imported: {exc.message}. Fix the rows listed under the upload "
                "form and upload the file again.",
            )
            return _render_contract(
                request,
                organization,
                contract,
                import_form=FeeScheduleImportForm(
                    initial={"end_previous": form.cleaned_data["end_previous"]}
                ),
                import_errors=exc.errors,
                import_total=exc.total,
                import_filename=upload.name,
            )
        except _REFUSALS as exc:
            add_refusal(form, exc)
        else:
            text = f"Imported {upload.name} into {contract.name}: {result.summary}."
            if result.updated:
                shown = "; ".join(str(change) for change in result.updated[:CHANGES_SHOWN])
                more = len(result.updated) - CHANGES_SHOWN
                text += f" Changed: {shown}" + (
                    f"; and {more} more (see the payer's recent changes)." if more > 0 else "."
                )
            messages.success(request, text)
            return redirect("payers:contract_detail", contract.reference)
    messages.error(request, f"Fee schedule not imported. {error_summary(form)}")
    return _render_contract(request, organization, contract, import_form=form)


class _Echo:
    """A file-like object whose write() hands the line back, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(fee_import.COLUMNS)
    for row in rows:
        yield writer.writerow(row)


@login_required
@require_safe
def fee_schedule_template(request: HttpRequest) -> HttpResponse:
    """The import file's header row, ready to fill in."""
    active_organization(request)
    response = HttpResponse("".join(_csv_lines([])), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="fee-schedule-template.csv"'
    return response


@login_required
@require_safe
def fee_schedule_export(request: HttpRequest, reference: Any) -> StreamingHttpResponse:
    """A contract's whole fee schedule in the import format: edit it and import it again."""
    organization = active_organization(request)
    contract = _contract_in(request, organization, reference)
    entries = (
        FeeScheduleEntry.objects.filter(contract=contract)
        .order_by("code", "modifier", "effective_from", "pk")
        .iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(
        _csv_lines(fee_import.entry_values(entry) for entry in entries),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"fee-schedule-{slugify(contract.name) or 'contract'}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
