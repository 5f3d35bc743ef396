"""Payers and their plans: add, change, deactivate and reactivate."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.audit import mark_change
from core.errors import Conflict, InvalidInput, InvalidTransition
from payers.models import (
    Payer,
    PayerKind,
    Plan,
)
from payers.permissions import can_manage_payers
from payers.services._helpers import (
    apply_changes,
    checked_reason,
    diff_data,
    insert_row,
    lock_row,
    payer_event,
    require_permission,
    save_changes,
    stripped,
    validate_fields,
)

# --- payers ----------------------------------------------------------------------------------

PAYER_FIELDS = (
    "name",
    "kind",
    "edi_payer_id",
    "bin",
    "pcn",
    "phone",
    "fax",
    "portal_url",
    "claims_address",
    "appeals_address",
)


def _check_payer(payer: Payer) -> None:
    if not payer.name:
        raise InvalidInput("name: enter the payer's name", field="name")
    if payer.kind not in PayerKind.values:
        raise InvalidInput(f"kind: {payer.kind!r} is not a payer kind", field="kind")
    if payer.bin and not (len(payer.bin) == 6 and payer.bin.isdigit()):
        raise InvalidInput("bin: a BIN is exactly six digits", field="bin")
    if payer.kind == PayerKind.PBM and not payer.bin:
        raise InvalidInput("bin: a pharmacy benefit manager needs its BIN for pharmacy claims", field="bin")
    validate_fields(payer)
    twin = Payer.objects.filter(organization_id=payer.organization_id, name__iexact=payer.name)
    if payer.pk:
        twin = twin.exclude(pk=payer.pk)
    if twin.exists():
        raise Conflict(f"name: a payer called {payer.name!r} already exists", field="name")


@transaction.atomic(durable=True)
def payer_create(
    *,
    organization: Any,
    name: str,
    kind: str,
    by: Any,
    edi_payer_id: str = "",
    bin: str = "",
    pcn: str = "",
    phone: str = "",
    fax: str = "",
    portal_url: str = "",
    claims_address: str = "",
    appeals_address: str = "",
) -> Payer:
    require_permission(
        can_manage_payers(by, organization), "Only an admin of this organization may add payers."
    )
    values = {
        "name": name,
        "kind": kind,
        "edi_payer_id": edi_payer_id,
        "bin": bin,
        "pcn": pcn,
        "phone": phone,
        "fax": fax,
        "portal_url": portal_url,
        "claims_address": claims_address,
        "appeals_address": appeals_address,
    }
    payer = Payer(organization=organization, **{k: stripped(v) or "" for k, v in values.items()})
    _check_payer(payer)
    mark_change(payer, by=by, reason="payer added")
    insert_row(payer, Conflict(f"name: a payer called {payer.name!r} already exists", field="name"))
    payer_event(payer, "payers.payer.created", f"Payer {payer.name} added", by, {"kind": payer.kind})
    return payer


@transaction.atomic(durable=True)
def payer_update(*, payer: Payer, changes: dict[str, Any], reason: str, by: Any) -> Payer:
    """Change a payer's name, kind, identifiers or contacts."""
    lock_row(Payer, payer)
    require_permission(can_manage_payers(by, payer), "Only an admin of this organization may change payers.")
    reason = checked_reason(reason)
    diff = apply_changes(payer, {k: v if v is not None else "" for k, v in changes.items()}, PAYER_FIELDS)
    if not diff:
        return payer
    _check_payer(payer)
    save_changes(payer, diff, by=by, reason=reason)
    payer_event(
        payer,
        "payers.payer.updated",
        f"Payer {payer.name} changed: {', '.join(sorted(diff))}",
        by,
        {"changes": diff_data(diff), "reason": reason},
    )
    return payer


@transaction.atomic(durable=True)
def payer_set_active(*, payer: Payer, active: bool, reason: str, by: Any) -> Payer:
    """Deactivate (or reactivate) a payer. Inactive payers stay on old coverages and claims."""
    lock_row(Payer, payer)
    require_permission(
        can_manage_payers(by, payer), "Only an admin of this organization may deactivate payers."
    )
    reason = checked_reason(reason)
    if payer.is_active == active:
        return payer
    payer.is_active = active
    mark_change(payer, by=by, reason=reason)
    payer.save(update_fields=["is_active", "updated_at"])
    verb = "reactivated" if active else "deactivated"
    payer_event(payer, f"payers.payer.{verb}", f"Payer {payer.name} {verb}", by, {"reason": reason})
    return payer


# --- plans -----------------------------------------------------------------------------------

PLAN_FIELDS = ("name", "group_number", "plan_type", "network")


def _check_plan(plan: Plan) -> None:
    if not plan.name:
        raise InvalidInput("name: enter the plan's product name", field="name")
    if plan.plan_type not in Plan.PlanType.values:
        raise InvalidInput(f"plan_type: {plan.plan_type!r} is not a plan type", field="plan_type")
    if plan.network not in Plan.Network.values:
        raise InvalidInput(f"network: {plan.network!r} is not a network status", field="network")
    validate_fields(plan)
    twin = Plan.objects.filter(payer_id=plan.payer_id, name__iexact=plan.name, group_number=plan.group_number)
    if plan.pk:
        twin = twin.exclude(pk=plan.pk)
    if twin.exists():
        raise Conflict(_plan_twin_message(plan), field="name")


def _plan_twin_message(plan: Plan) -> str:
    group = f"group {plan.group_number}" if plan.group_number else "no group number"
    return f"name: this payer already has a plan {plan.name!r} with {group}"


@transaction.atomic(durable=True)
def plan_create(
    *,
    payer: Payer,
    name: str,
    by: Any,
    group_number: str = "",
    plan_type: str = Plan.PlanType.OTHER,
    network: str = Plan.Network.IN_NETWORK,
) -> Plan:
    lock_row(Payer, payer)
    require_permission(can_manage_payers(by, payer), "Only an admin of this organization may add plans.")
    if not payer.is_active:
        raise InvalidTransition(f"payer: {payer.name} is inactive; reactivate it to add plans", field="payer")
    plan = Plan(
        organization_id=payer.organization_id,
        payer=payer,
        name=stripped(name) or "",
        group_number=stripped(group_number) or "",
        plan_type=plan_type,
        network=network,
    )
    _check_plan(plan)
    mark_change(plan, by=by, reason="plan added")
    insert_row(plan, Conflict(_plan_twin_message(plan), field="name"))
    payer_event(
        payer,
        "payers.plan.created",
        f"Plan {plan.name} added to {payer.name}",
        by,
        {"plan": str(plan.reference), "plan_type": plan.plan_type, "network": plan.network},
    )
    return plan


@transaction.atomic(durable=True)
def plan_update(*, plan: Plan, changes: dict[str, Any], reason: str, by: Any) -> Plan:
    lock_row(Plan, plan)
    require_permission(can_manage_payers(by, plan), "Only an admin of this organization may change plans.")
    reason = checked_reason(reason)
    diff = apply_changes(plan, {k: v if v is not None else "" for k, v in changes.items()}, PLAN_FIELDS)
    if not diff:
        return plan
    _check_plan(plan)
    save_changes(plan, diff, by=by, reason=reason)
    payer_event(
        plan.payer,
        "payers.plan.updated",
        f"Plan {plan.name} changed: {', '.join(sorted(diff))}",
        by,
        {"plan": str(plan.reference), "changes": diff_data(diff), "reason": reason},
    )
    return plan


@transaction.atomic(durable=True)
def plan_set_active(*, plan: Plan, active: bool, reason: str, by: Any) -> Plan:
    """Deactivate (or reactivate) a plan; coverages that name it keep it."""
    lock_row(Plan, plan)
    require_permission(
        can_manage_payers(by, plan), "Only an admin of this organization may deactivate plans."
    )
    reason = checked_reason(reason)
    if plan.is_active == active:
        return plan
    if active and not plan.payer.is_active:
        raise InvalidTransition(
            f"payer: {plan.payer.name} is inactive; reactivate the payer first", field="payer"
        )
    plan.is_active = active
    mark_change(plan, by=by, reason=reason)
    plan.save(update_fields=["is_active", "updated_at"])
    verb = "reactivated" if active else "deactivated"
    payer_event(
        plan.payer,
        f"payers.plan.{verb}",
        f"Plan {plan.name} {verb}",
        by,
        {"plan": str(plan.reference), "reason": reason},
    )
    return plan
