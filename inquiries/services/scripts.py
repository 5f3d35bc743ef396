"""Call scripts: creating them and publishing new versions. A published version is never edited,
so a logged contact always points at the words the rep had in front of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.audit import mark_change
from core.errors import Conflict, InvalidInput
from core.timeline import event_record
from inquiries.models import Category, Script, ScriptStep, ScriptVersion
from inquiries.permissions import can_manage_case_settings
from inquiries.services.common import lock, require, save

REQUIRED_MARK = "!"
MAX_STEPS = 60
MAX_STEP_LENGTH = 2000


@dataclass(frozen=True)
class StepInput:
    prompt: str
    is_required_disclosure: bool


def parse_steps(text: str) -> list[StepInput]:
    """One step per line; a line starting with ``!`` is a required disclosure. Blank lines are skipped."""
    steps = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        required = line.startswith(REQUIRED_MARK)
        prompt = line[len(REQUIRED_MARK) :].strip() if required else line
        if not prompt:
            raise InvalidInput(f"steps: line {number} is a ! with no words after it", field="steps")
        if len(prompt) > MAX_STEP_LENGTH:
            raise InvalidInput(
                f"steps: line {number} is longer than {MAX_STEP_LENGTH} characters", field="steps"
            )
        steps.append(StepInput(prompt, required))
    if not steps:
        raise InvalidInput("steps: write at least one step, one per line", field="steps")
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"steps: at most {MAX_STEPS} steps", field="steps")
    return steps


def steps_text(version: ScriptVersion | None) -> str:
    """A version's steps as the text an admin edits to publish the next one."""
    if version is None:
        return ""
    return "\n".join(
        (REQUIRED_MARK if step.is_required_disclosure else "") + step.prompt for step in version.steps.all()
    )


def _publish(script: Script, steps: list[StepInput], note: str, by: Any, now: datetime) -> ScriptVersion:
    number = (ScriptVersion.objects.filter(script=script).aggregate(last=Max("number"))["last"] or 0) + 1
    version = ScriptVersion.objects.create(
        organization_id=script.organization_id,
        script=script,
        number=number,
        note=note.strip()[:300],
        published_by=by,
        published_at=now,
    )
    ScriptStep.objects.bulk_create(
        ScriptStep(
            version=version,
            position=position,
            prompt=step.prompt,
            is_required_disclosure=step.is_required_disclosure,
        )
        for position, step in enumerate(steps, start=1)
    )
    script.current_version = version
    return version


def _category(category: str) -> str:
    if category and category not in Category.values:
        raise InvalidInput(f"category: {category!r} is not a case category", field="category")
    return category


@transaction.atomic(durable=True)
def script_create(
    *, organization: Any, name: str, category: str, steps: str, by: Any, now: datetime | None = None
) -> Script:
    """Add a script and publish its first version."""
    require(can_manage_case_settings(by, organization), "Only an admin may write call scripts.")
    name = name.strip()
    if not name:
        raise InvalidInput("name: give the script a name", field="name")
    conflict = Conflict(f"name: a script named {name!r} already exists", field="name")
    if Script.objects.filter(organization=organization, name__iexact=name).exists():
        raise conflict
    parsed = parse_steps(steps)
    script = Script(organization=organization, name=name, category=_category(category))
    mark_change(script, by=by, reason="script written")
    save(script, conflict)
    version = _publish(script, parsed, "First version", by, now or timezone.now())
    mark_change(script, by=by, reason="version 1 published")
    script.save(update_fields=["current_version", "updated_at"])
    event_record(
        organization=organization,
        subject=organization,
        kind="inquiries.script.created",
        summary=f"Call script {name} written ({len(parsed)} steps)",
        by=by,
        data={"script": str(script.reference), "version": version.number},
    )
    return script


@transaction.atomic(durable=True)
def script_publish(
    *, script: Script, steps: str, note: str, by: Any, now: datetime | None = None
) -> ScriptVersion:
    """Publish a new wording; contacts logged from now on record this version."""
    lock(script)
    require(can_manage_case_settings(by, script), "Only an admin may change call scripts.")
    if not note.strip():
        raise InvalidInput("note: say what changed in this version", field="note")
    parsed = parse_steps(steps)
    version = _publish(script, parsed, note, by, now or timezone.now())
    mark_change(script, by=by, reason=f"version {version.number} published")
    script.save(update_fields=["current_version", "updated_at"])
    event_record(
        organization=script.organization,
        subject=script.organization,
        kind="inquiries.script.published",
        summary=f"Call script {script.name} version {version.number} published: {note.strip()}",
        by=by,
        data={"script": str(script.reference), "version": version.number},
    )
    return version


@transaction.atomic(durable=True)
def script_update(
    *, script: Script, by: Any, category: str | None = None, is_active: bool | None = None
) -> Script:
    """Change which cases the script shows on, or retire it."""
    lock(script)
    require(can_manage_case_settings(by, script), "Only an admin may change call scripts.")
    fields = []
    if category is not None and category != script.category:
        script.category = _category(category)
        fields.append("category")
    if is_active is not None and is_active != script.is_active:
        script.is_active = is_active
        fields.append("is_active")
    if not fields:
        return script
    mark_change(script, by=by, reason=f"script changed: {', '.join(fields)}")
    script.save(update_fields=[*fields, "updated_at"])
    event_record(
        organization=script.organization,
        subject=script.organization,
        kind="inquiries.script.updated",
        summary=f"Call script {script.name} changed: {', '.join(fields)}",
        by=by,
        data={"script": str(script.reference), "fields": fields},
    )
    return script
