"""My work: what a person has and can take next, and one item with what can be done to it.

Everything is in the active organization; an item of another organization is a 404.
Titles can carry an account or claim number, so the pages that list items write the
PHI access log for the subjects that hold patient data, like the claims lists do.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from core.errors import DomainError
from core.forms import add_refusal
from core.history import history_rows
from staff.models import Organization, User
from staff.permissions import require
from staff.phi import phi_access_record, phi_access_record_many
from worklists import registry, selectors, services
from worklists.forms import CompleteForm, ReassignForm, ReleaseForm, SnoozeForm
from worklists.models import Queue, WorkItem
from worklists.permissions import can_manage_queues, can_view_work, can_work_item


def active_organization(request: HttpRequest) -> Organization:
    organization = getattr(request, "organization", None)
    if organization is None or not can_view_work(request.user, organization):
        raise Http404("No active organization")
    return organization


def get_item_for_user(request: HttpRequest, reference: UUID) -> WorkItem:
    """The item in the active organization, with its queue and people; 404 otherwise."""
    organization = active_organization(request)
    return get_object_or_404(
        WorkItem.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("organization", "queue", "assignee", "snoozed_by", "done_by"),
        reference=reference,
    )


def log_listed_subjects(request: HttpRequest, items: list[WorkItem]) -> None:
    """PHI access log rows for the patient-data subjects of the items a page lists (one insert)."""
    subjects = []
    for item in items:
        model = ContentType.objects.get_for_id(item.subject_type_id).model_class()
        if model is not None and getattr(model, "contains_phi", False):
            stub = model(pk=item.subject_id)
            stub.organization_id = item.organization_id
            subjects.append(stub)
    if subjects:
        phi_access_record_many(request=request, subjects=subjects)


def organization_people(organization_id: int) -> Any:
    """Active people with an active membership of the organization."""
    return User.objects.filter(
        is_active=True, memberships__organization_id=organization_id, memberships__is_active=True
    ).order_by("full_name", "email")


def queue_people(queue: Queue) -> Any:
    """People who work ``queue`` (whom its items can be given to)."""
    return organization_people(queue.organization_id).filter(pk__in=queue.members.values("user_id"))


@login_required
@require_safe
def my_work(request: HttpRequest) -> HttpResponse:
    organization = active_organization(request)
    supervisor = can_manage_queues(request.user, organization)
    work = selectors.my_work(
        user=request.user, organization=organization, now=timezone.now(), supervisor=supervisor
    )
    log_listed_subjects(request, work.items_shown)
    return render(
        request,
        "worklists/my_work.html",
        {"organization": organization, "work": work, "supervisor": supervisor, "now": timezone.now()},
    )


@login_required
@require_POST
def take_next(request: HttpRequest) -> HttpResponse:
    """Get next: the best item this person may work becomes theirs, and opens."""
    organization = active_organization(request)
    queue = None
    if request.POST.get("queue"):
        try:
            queue = Queue.objects.in_organization(organization).get(reference=UUID(request.POST["queue"]))
        except (ValueError, Queue.DoesNotExist):
            raise Http404("No such queue") from None
    try:
        item = services.work_item_get_next(user=request.user, organization=organization, queue=queue)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("worklists:my_work")
    if item is None:
        messages.info(request, "Nothing is waiting for you right now in the queues you work.")
        return redirect("worklists:my_work")
    messages.success(request, f"Yours now: {item.title}")
    # Only a record with a page of its own is loaded; the others open on the item's page.
    subject_model = ContentType.objects.get_for_id(item.subject_type_id).model_class()
    if hasattr(subject_model, "get_absolute_url") and item.subject is not None:
        return redirect(item.subject.get_absolute_url())
    return redirect("worklists:item_detail", reference=item.reference)


def _render_item(request: HttpRequest, item: WorkItem, *, status: int = 200, **forms: Any) -> HttpResponse:
    subject = item.subject
    if subject is not None and getattr(subject, "contains_phi", False):
        phi_access_record(request=request, subject=subject, organization=item.organization)
    supervisor = can_manage_queues(request.user, item)
    context = {
        "item": item,
        "subject": subject,
        "subject_url": registry.subject_url(subject),
        "subject_label": subject._meta.verbose_name if subject is not None else "",
        "rule_label": registry.rule_label(item.kind),
        "can_work": item.is_live and can_work_item(request.user, item),
        "supervisor": supervisor,
        "complete_form": forms.get("complete_form") or CompleteForm(),
        "snooze_form": forms.get("snooze_form") or SnoozeForm(),
        "release_form": forms.get("release_form") or ReleaseForm(),
        "reassign_form": (forms.get("reassign_form") or ReassignForm(people=queue_people(item.queue)))
        if supervisor and item.is_live
        else None,
        "history": history_rows(item, limit=30),
    }
    return render(request, "worklists/item_detail.html", context, status=status)


@login_required
@require_safe
def item_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    return _render_item(request, get_item_for_user(request, reference))


def _act(request: HttpRequest, item: WorkItem, form_name: str, form: Any, run: Any) -> HttpResponse:
    """Validate ``form``, call one service, and redirect (PRG); a refusal re-shows the item page."""
    if form.is_valid():
        try:
            message, target = run(form.cleaned_data)
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, message)
            return redirect(target)
    return _render_item(request, item, status=400, **{form_name: form})


@login_required
@require_POST
def item_complete(request: HttpRequest, reference: UUID) -> HttpResponse:
    item = get_item_for_user(request, reference)

    def run(data: dict) -> tuple[str, str]:
        services.work_item_complete(item=item, outcome=data["outcome"], note=data["note"], by=request.user)
        return f"Done: {item.title} ({item.get_outcome_display().lower()}).", "worklists:my_work"

    return _act(request, item, "complete_form", CompleteForm(request.POST), run)


@login_required
@require_POST
def item_snooze(request: HttpRequest, reference: UUID) -> HttpResponse:
    item = get_item_for_user(request, reference)
    form = SnoozeForm(request.POST)

    def run(data: dict) -> tuple[str, str]:
        until = form.until_datetime(item.organization.time_zone)
        services.work_item_snooze(item=item, until=until, reason=data["reason"], by=request.user)
        return f"Set aside until {data['until']:%m/%d/%Y}: {item.title}", "worklists:my_work"

    return _act(request, item, "snooze_form", form, run)


@login_required
@require_POST
def item_release(request: HttpRequest, reference: UUID) -> HttpResponse:
    item = get_item_for_user(request, reference)

    def run(data: dict) -> tuple[str, str]:
        services.work_item_release(item=item, by=request.user, reason=data["reason"])
        return f"Back in {item.queue.name}: {item.title}", "worklists:my_work"

    return _act(request, item, "release_form", ReleaseForm(request.POST), run)


@login_required
@require_POST
def item_reassign(request: HttpRequest, reference: UUID) -> HttpResponse:
    item = get_item_for_user(request, reference)
    require(can_manage_queues(request.user, item), "Only supervisors reassign work items.")
    form = ReassignForm(request.POST, people=queue_people(item.queue))

    def run(data: dict) -> tuple[str, str]:
        services.work_item_reassign(
            item=item, assignee=data["assignee"], by=request.user, reason=data["reason"]
        )
        who = data["assignee"] or "the queue"
        return f"Given to {who}: {item.title}", item.get_absolute_url()

    return _act(request, item, "reassign_form", form, run)
