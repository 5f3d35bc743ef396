"""Queue management for supervisors: queues with their counts, one queue's settings, members,
skills and items (filtered, paged by keyset), moving and reassigning items, and refreshing
the rules now. Each change is a POST that calls one service and redirects (PRG).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from core.errors import DomainError
from core.forms import add_refusal, error_summary
from staff.models import Organization
from staff.permissions import require
from worklists import selectors, services, tasks
from worklists.forms import BulkForm, ItemFilterForm, MemberAddForm, QueueEditForm, QueueForm, SkillsForm
from worklists.models import Queue, QueueMember, WorkItem
from worklists.permissions import can_manage_queues, can_refresh_work
from worklists.views import active_organization, log_listed_subjects, organization_people, queue_people

ITEMS_PER_PAGE = 50


def _supervised(request: HttpRequest) -> Organization:
    organization = active_organization(request)
    require(can_manage_queues(request.user, organization), "Queue management is for supervisors.")
    return organization


def _queue(request: HttpRequest, reference: UUID) -> Queue:
    organization = _supervised(request)
    return get_object_or_404(
        Queue.objects.visible_to(request.user).in_organization(organization).select_related("organization"),
        reference=reference,
    )


def _queue_url(queue: Queue) -> str:
    return reverse("worklists:queue_detail", args=[queue.reference])


@login_required
@require_safe
def queue_list(request: HttpRequest) -> HttpResponse:
    organization = _supervised(request)
    return render(
        request,
        "worklists/queue_list.html",
        {
            "organization": organization,
            "rows": selectors.queue_overview(organization, user=request.user, now=timezone.now()),
            "last_refresh": selectors.last_refresh(organization),
            "can_refresh": can_refresh_work(request.user, organization),
        },
    )


@login_required
def queue_create(request: HttpRequest) -> HttpResponse:
    organization = _supervised(request)
    form = QueueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            queue = services.queue_create(
                organization=organization,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                cap_per_person=form.cleaned_data["cap_per_person"],
                escalate_after_hours=form.cleaned_data["escalate_after_hours"],
                by=request.user,
            )
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Queue {queue.name} created. Add the people who work it.")
            return redirect(_queue_url(queue))
    return render(
        request,
        "worklists/queue_form.html",
        {"organization": organization, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _render_queue(request: HttpRequest, queue: Queue, *, status: int = 200, **forms: Any) -> HttpResponse:
    now = timezone.now()
    filters = ItemFilterForm(request.GET or None)
    items = filters.filter(WorkItem.objects.filter(queue=queue), now).select_related("assignee")
    page = selectors.item_page(items, request.GET.get("after", ""), ITEMS_PER_PAGE)
    log_listed_subjects(request, page.rows)
    people = queue_people(queue)
    members = list(queue.members.select_related("user").order_by("user__full_name", "user__email"))
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "queue": queue,
        "organization": queue.organization,
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "members": members,
        "now": now,
        "edit_form": forms.get("edit_form") or QueueEditForm(instance=queue),
        "member_form": forms.get("member_form")
        or MemberAddForm(
            people=organization_people(queue.organization_id).exclude(pk__in=[m.user_id for m in members])
        ),
        "bulk_form": forms.get("bulk_form")
        or BulkForm(
            queues=Queue.objects.in_organization(queue.organization).exclude(pk=queue.pk).order_by("name"),
            people=people,
        ),
    }
    return render(request, "worklists/queue_detail.html", context, status=status)


@login_required
@require_safe
def queue_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    return _render_queue(request, _queue(request, reference))


@login_required
@require_POST
def queue_edit(request: HttpRequest, reference: UUID) -> HttpResponse:
    queue = _queue(request, reference)
    form = QueueEditForm(request.POST, instance=Queue.objects.get(pk=queue.pk))
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in QueueForm.Meta.fields}
        try:
            services.queue_update(
                queue=queue, changes=changes, reason=form.cleaned_data["reason"], by=request.user
            )
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Queue {queue.name} saved.")
            return redirect(_queue_url(queue))
    return _render_queue(request, queue, status=400, edit_form=form)


@login_required
@require_POST
def member_add(request: HttpRequest, reference: UUID) -> HttpResponse:
    queue = _queue(request, reference)
    form = MemberAddForm(request.POST, people=organization_people(queue.organization_id))
    if form.is_valid():
        try:
            member = services.queue_member_add(
                queue=queue,
                user=form.cleaned_data["user"],
                skills=form.cleaned_data["skills"],
                by=request.user,
            )
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"{member.user} now works {queue.name}.")
            return redirect(_queue_url(queue))
    return _render_queue(request, queue, status=400, member_form=form)


def _member(queue: Queue, member_reference: UUID) -> QueueMember:
    return get_object_or_404(
        QueueMember.objects.select_related("user"), queue=queue, reference=member_reference
    )


@login_required
@require_POST
def member_skills(request: HttpRequest, reference: UUID, member_reference: UUID) -> HttpResponse:
    queue = _queue(request, reference)
    member = _member(queue, member_reference)
    form = SkillsForm(request.POST)
    try:
        if not form.is_valid():
            raise ValueError(error_summary(form))
        services.queue_member_set_skills(member=member, skills=form.cleaned_data["skills"], by=request.user)
    except DomainError as exc:
        messages.error(request, f"{member.user}: {exc.message}")
    except ValueError as exc:
        messages.error(request, f"{member.user}: {exc}")
    else:
        messages.success(request, f"Skills of {member.user} saved.")
    return redirect(_queue_url(queue))


@login_required
@require_POST
def member_remove(request: HttpRequest, reference: UUID, member_reference: UUID) -> HttpResponse:
    queue = _queue(request, reference)
    member = _member(queue, member_reference)
    released = services.queue_member_remove(member=member, by=request.user)
    note = f"; {released} item(s) they had went back to the queue" if released else ""
    messages.success(request, f"{member.user} no longer works {queue.name}{note}.")
    return redirect(_queue_url(queue))


@login_required
@require_POST
def items_bulk(request: HttpRequest, reference: UUID) -> HttpResponse:
    """Move the ticked items to another queue, or give them to a person (or back to the queue)."""
    queue = _queue(request, reference)
    form = BulkForm(
        request.POST,
        queues=Queue.objects.in_organization(queue.organization).exclude(pk=queue.pk),
        people=queue_people(queue),
    )
    if form.is_valid():
        items = list(WorkItem.objects.filter(queue=queue, reference__in=form.items).only("pk"))
        data = form.cleaned_data
        try:
            if data["action"] == BulkForm.MOVE:
                count = services.work_items_bulk_move(
                    items=items, queue=data["target_queue"], by=request.user, reason=data["reason"]
                )
                message = f"{count} item(s) moved to {data['target_queue'].name}."
            else:
                count = services.work_items_bulk_reassign(
                    items=items,
                    organization=queue.organization,
                    assignee=data["assignee"],
                    by=request.user,
                    reason=data["reason"],
                )
                message = f"{count} item(s) given to {data['assignee'] or 'the queue'}."
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            skipped = len(form.items) - count
            if skipped:
                message += f" {skipped} were done or moved meanwhile and were left alone."
            messages.success(request, message)
            return redirect(_queue_url(queue))
    return _render_queue(request, queue, status=400, bulk_form=form)


@login_required
@require_POST
def refresh_now(request: HttpRequest) -> HttpResponse:
    """Run the rules for the active organization now, in the background."""
    organization = active_organization(request)
    require(can_refresh_work(request.user, organization), "Only supervisors refresh the work items.")
    tasks.refresh_work_items.delay(organization.pk)
    messages.success(
        request, "Refresh started: new work appears and finished work closes within a minute or two."
    )
    return redirect("worklists:queue_list")
