"""Coverages file: one row per coverage, keyed by ``external_id``.

The payer is named by its name or EDI payer id, the plan by its name under that payer
(with ``group_number`` to tell apart plans of the same name); both must already be set
up for the organization.

Priority follows the rule of ``accounts.services.coverage_add``: a coverage that takes a
place (primary, secondary, tertiary) moves the patient's active coverage in that place,
and the ones right behind it, one place down; nothing moves past tertiary. Within one
file each active coverage of a patient needs its own place: two rows claiming the same
one contradict each other and are reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db.models import Q

from accounts.imports.base import (
    DATE_HELP,
    ChoiceCell,
    Column,
    ImportContext,
    ImportKind,
    ParsedRow,
    assign_changes,
    choices_help,
    date_cell,
    present_values,
    text_cell,
)
from accounts.imports.patients import patients_by_external_id
from accounts.models import Coverage, Patient
from payers.models import Payer, Plan

OPTIONAL_FIELDS = {
    "group_number": "group_number",
    "subscriber_date_of_birth": "subscriber_date_of_birth",
    "relationship_to_subscriber": "relationship_to_subscriber",
    "effective_to": "effective_to",
}
PRIORITY_NAMES = {1: "primary", 2: "secondary", 3: "tertiary"}


class CoverageRowForm(forms.Form):
    external_id = text_cell(64, required=True)
    patient_external_id = text_cell(64, required=True)
    payer = text_cell(120, required=True)
    plan = text_cell(120, required=True)
    member_id = text_cell(40, required=True)
    group_number = text_cell(40)
    subscriber_name = text_cell(120)
    subscriber_date_of_birth = date_cell()
    relationship_to_subscriber = ChoiceCell(Coverage.Relationship, default=Coverage.Relationship.SELF)
    priority = ChoiceCell(Coverage.Priority, default=Coverage.Priority.PRIMARY)
    effective_from = date_cell(required=True)
    effective_to = date_cell()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            self.add_error("effective_to", "is before effective_from")
        relationship = data.get("relationship_to_subscriber")
        if relationship and relationship != Coverage.Relationship.SELF and not data.get("subscriber_name"):
            self.add_error("subscriber_name", "is required when the patient is not the subscriber")
        return data


@dataclass
class _Slot:
    """A patient's active coverage and the place it holds while the file is worked through."""

    coverage: Coverage
    priority: int
    line: int | None = None  # the file line that set it, once that row has been worked


@dataclass
class _Claim:
    row: ParsedRow
    coverage: Coverage
    priority: int
    is_new: bool


@dataclass
class CoveragePlan:
    create: list[Coverage] = field(default_factory=list)
    update: list[Coverage] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    moved: list[Coverage] = field(default_factory=list)
    unchanged: int = 0


class CoverageImport(ImportKind):
    name = "coverages"
    label = "Coverages"
    key = "external_id"
    noun = "coverage"
    form_class = CoverageRowForm
    columns = (
        Column("external_id", True, "Your id for this coverage; the key.", "C778812"),
        Column("patient_external_id", True, "The patient's external_id; the patient must exist.", "P100234"),
        Column(
            "payer", True, "The payer's name or EDI payer id, as set up on the payer page.", "Acme Health"
        ),
        Column("plan", True, "The plan's name under that payer.", "Choice PPO"),
        Column("member_id", True, "Member id on the insurance card.", "XJH449120331"),
        Column(
            "group_number", False, "Group number; also picks between plans of the same name.", "GRP-20044"
        ),
        Column(
            "subscriber_name",
            False,
            "The subscriber's name; empty means the patient (relationship self).",
            "Maria Lopez",
        ),
        Column("subscriber_date_of_birth", False, f"{DATE_HELP}.", "1984-03-17"),
        Column(
            "relationship_to_subscriber",
            False,
            f"{choices_help(Coverage.Relationship)}; empty means self.",
            "self",
        ),
        Column("priority", False, "1, 2, 3 or primary, secondary, tertiary; empty means 1.", "primary"),
        Column("effective_from", True, f"First day the coverage is in force, {DATE_HELP}.", "2026-01-01"),
        Column("effective_to", False, f"Last day in force, {DATE_HELP}; empty means open-ended.", ""),
    )

    def check(self, rows: list[ParsedRow], ctx: ImportContext) -> CoveragePlan:
        organization = ctx.organization
        patients = patients_by_external_id(organization, [row.get("patient_external_id") for row in rows])
        keys = {row.get("external_id") for row in rows if row.get("external_id")}
        # The file's coverages and every active coverage of its patients, in one query and as
        # one set of objects, so that a coverage moved down is the same object its row updates.
        coverages = list(
            Coverage.objects.filter(organization=organization).filter(
                Q(external_id__in=keys) | Q(patient_id__in=[p.pk for p in patients.values()], is_active=True)
            )
        )
        existing = {c.external_id: c for c in coverages if c.external_id in keys}
        payers = _PayerDirectory(organization)

        plan = CoveragePlan()
        claims: list[_Claim] = []
        for row in rows:
            patient = patients.get(row.get("patient_external_id"))
            if row.get("patient_external_id") and patient is None:
                ctx.error(
                    row.line,
                    "patient_external_id",
                    f"no patient with this external id in {organization.name}; import the patient first",
                )
            insurance_plan = payers.plan_for(row, ctx)
            if not row.valid or patient is None or insurance_plan is None:
                continue
            claim = self._claim(row, patient, insurance_plan, existing, ctx, plan)
            if claim is not None:
                claims.append(claim)
        self._make_room(claims, coverages, ctx, plan)
        return plan

    def _claim(
        self,
        row: ParsedRow,
        patient: Patient,
        insurance_plan: Plan,
        existing: dict[str, Coverage],
        ctx: ImportContext,
        plan: CoveragePlan,
    ) -> _Claim | None:
        values: dict[str, Any] = {
            "plan": insurance_plan,
            "member_id": row.data["member_id"],
            "effective_from": row.data["effective_from"],
            **present_values(row, ctx, OPTIONAL_FIELDS),
        }
        coverage = existing.get(row.data["external_id"])
        if ctx.has("subscriber_name") or coverage is None:
            values["subscriber_name"] = (
                row.data.get("subscriber_name") or f"{patient.first_name} {patient.last_name}"
            )
        priority = row.data["priority"] if ctx.has("priority") else None
        if coverage is None:
            coverage = Coverage(
                organization=ctx.organization,
                patient=patient,
                external_id=row.data["external_id"],
                priority=priority or Coverage.Priority.PRIMARY,
                **values,
            )
            if self._invalid(coverage, row, ctx):
                return None
            plan.create.append(coverage)
            return _Claim(row, coverage, coverage.priority, is_new=True)
        if coverage.patient_id != patient.pk:
            ctx.error(
                row.line,
                "patient_external_id",
                f"coverage {coverage.external_id} belongs to another patient; an import cannot move it",
            )
            return None
        changed = assign_changes(coverage, values)
        target = priority or coverage.priority
        if target != coverage.priority:
            changed.append("priority")
        if not changed:
            plan.unchanged += 1
        elif not self._invalid(coverage, row, ctx):
            plan.update.append(coverage)
            plan.changed_fields.update(changed)
        return _Claim(row, coverage, target, is_new=False)

    def _invalid(self, coverage: Coverage, row: ParsedRow, ctx: ImportContext) -> bool:
        return ctx.model_errors(
            coverage, row.line, exclude=["organization", "patient", "plan", "verified_by", "priority"]
        )

    def _make_room(
        self, claims: list[_Claim], coverages: list[Coverage], ctx: ImportContext, plan: CoveragePlan
    ) -> None:
        """Give each row's coverage its place, in file order, moving others down as coverage_add would."""
        slots: dict[int, list[_Slot]] = defaultdict(list)
        slot_of: dict[int, _Slot] = {}
        for coverage in sorted(coverages, key=lambda c: (c.priority, c.pk)):
            if coverage.is_active:
                slot = _Slot(coverage, coverage.priority)
                slots[coverage.patient_id].append(slot)
                slot_of[id(coverage)] = slot
        for claim in claims:
            coverage = claim.coverage
            coverage.priority = claim.priority
            if not coverage.is_active:
                # An ended coverage keeps out of the order, as in coverage_update.
                continue
            slot = slot_of.get(id(coverage))
            if slot is None:
                slot = slot_of[id(coverage)] = _Slot(coverage, claim.priority)
                slots[coverage.patient_id].append(slot)
                moving_in = True
            else:
                # Already in this place (perhaps moved there by an earlier row): nothing moves.
                moving_in = slot.priority != claim.priority
            if not moving_in or self._room_made(claim, slot, slots[coverage.patient_id], ctx):
                slot.priority = claim.priority
                slot.line = claim.row.line
        for patient_slots in slots.values():
            for slot in patient_slots:
                if slot.line is None and slot.priority != slot.coverage.priority:
                    slot.coverage.priority = slot.priority
                    plan.moved.append(slot.coverage)

    @staticmethod
    def _room_made(claim: _Claim, slot: _Slot, patient_slots: list[_Slot], ctx: ImportContext) -> bool:
        others = sorted(
            (s for s in patient_slots if s is not slot and s.priority >= claim.priority),
            key=lambda s: (s.priority, s.coverage.pk or math.inf, s.line or 0),
        )
        expected, moves = claim.priority, []
        for other in others:
            if other.priority != expected:
                break
            if other.line is not None:
                ctx.error(
                    claim.row.line,
                    "priority",
                    f"line {other.line} already makes a {PRIORITY_NAMES[other.priority]} coverage of this "
                    "patient; each active coverage of a patient needs its own priority",
                )
                return False
            if other.priority >= Coverage.Priority.TERTIARY:
                ctx.error(
                    claim.row.line,
                    "priority",
                    "the patient already has active primary, secondary and tertiary coverages; "
                    "end one before adding another",
                )
                return False
            moves.append(other)
            expected += 1
        for other in moves:
            other.priority += 1
        return True

    def write(self, plan: CoveragePlan, ctx: ImportContext) -> tuple[int, int, int]:
        ctx.create(plan.create, Coverage)
        ctx.update(plan.update, Coverage, plan.changed_fields)
        ctx.update(plan.moved, Coverage, ["priority"], reason=f"moved down by {ctx.reason}")
        return len(plan.create), len(plan.update), plan.unchanged


class _PayerDirectory:
    """The organization's payers and plans, loaded once per file (a payer master is small)."""

    def __init__(self, organization: Any):
        self.organization = organization
        self.by_name: dict[str, Payer] = {}
        self.by_edi_id: dict[str, list[Payer]] = defaultdict(list)
        for payer in Payer.objects.filter(organization=organization):
            self.by_name[payer.name.lower()] = payer
            if payer.edi_payer_id:
                self.by_edi_id[payer.edi_payer_id.lower()].append(payer)
        self.plans: dict[tuple[int, str], list[Plan]] = defaultdict(list)
        for plan in Plan.objects.filter(organization=organization).select_related("payer"):
            self.plans[(plan.payer_id, plan.name.lower())].append(plan)

    def plan_for(self, row: ParsedRow, ctx: ImportContext) -> Plan | None:
        """The row's plan, or None after recording why it cannot be found."""
        name = row.get("payer")
        if not name:
            return None
        payer = self.by_name.get(name.lower())
        if payer is None:
            candidates = self.by_edi_id.get(name.lower(), [])
            if len(candidates) > 1:
                ctx.error(row.line, "payer", "several payers have this EDI payer id; give the payer's name")
                return None
            if not candidates:
                ctx.error(
                    row.line,
                    "payer",
                    f"no payer with this name or EDI payer id in {self.organization.name}; "
                    "set the payer up first",
                )
                return None
            payer = candidates[0]
        plan_name = row.get("plan")
        if not plan_name:
            return None
        plans = self.plans.get((payer.pk, plan_name.lower()), [])
        if not plans:
            ctx.error(row.line, "plan", f"{payer.name} has no plan with this name; set the plan up first")
            return None
        if len(plans) > 1:
            group = (row.get("group_number") or "").lower()
            plans = [p for p in plans if p.group_number.lower() == group] or [
                p for p in plans if not p.group_number
            ]
        if len(plans) != 1:
            ctx.error(
                row.line,
                "plan",
                f"several plans of {payer.name} have this name; give the group_number of the one you mean",
            )
            return None
        return plans[0]
