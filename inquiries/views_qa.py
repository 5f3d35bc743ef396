"""Quality review pages: supervisors score contacts and read averages; representatives read their own."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from core.errors import DomainError
from core.forms import add_refusal
from inquiries import forms, selectors
from inquiries import permissions as perms
from inquiries.models import Interaction, QAReview, Scorecard
from inquiries.services import qa as services
from inquiries.views_cases import organization_for
from staff.permissions import require

PERIODS = {"30": 30, "90": 90, "365": 365}
TO_REVIEW_SHOWN = 25


@login_required
def qa_home(request: HttpRequest) -> HttpResponse:
    """Supervisors: averages per representative and per criterion, and contacts to review.
    Everyone: their own reviews."""
    organization = organization_for(request)
    days = PERIODS.get(request.GET.get("days", ""), 90)
    since = timezone.now() - timedelta(days=days)
    is_supervisor = perms.can_review_quality(request.user, organization)
    mine = list(
        QAReview.objects.visible_to(request.user)
        .in_organization(organization)
        .filter(representative=request.user)
        .select_related("reviewer", "scorecard", "interaction__case")
        .order_by("-reviewed_at")[:50]
    )
    context = {"days": days, "periods": PERIODS, "is_supervisor": is_supervisor, "mine": mine}
    if is_supervisor:
        reps, criteria = selectors.qa_averages(organization, since)
        reviewed = QAReview.objects.filter(interaction=OuterRef("pk"))
        context.update(
            reps=reps,
            criteria=criteria,
            recent=list(
                QAReview.objects.filter(organization=organization)
                .select_related("representative", "reviewer", "interaction__case")
                .order_by("-reviewed_at")[:25]
            ),
            to_review=list(
                Interaction.objects.filter(organization=organization, started_at__gte=since)
                .exclude(logged_by=request.user)
                .annotate(reviewed=Exists(reviewed))
                .filter(reviewed=False)
                .select_related("logged_by", "case")
                .order_by("-started_at")[:TO_REVIEW_SHOWN]
            ),
        )
    return render(request, "inquiries/qa_home.html", context)


@login_required
def qa_review_create(request: HttpRequest, reference: UUID) -> HttpResponse:
    organization = organization_for(request)
    require(perms.can_review_quality(request.user, organization), "Only a supervisor may review contacts.")
    interaction = get_object_or_404(
        Interaction.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("case", "logged_by", "script_version__script"),
        reference=reference,
    )
    scorecards = list(Scorecard.objects.filter(organization=organization, is_active=True).order_by("name"))
    scorecard = next((s for s in scorecards if str(s.reference) == request.GET.get("scorecard", "")), None)
    scorecard = scorecard or (scorecards[0] if scorecards else None)
    form = None
    if scorecard is not None:
        criteria = list(scorecard.criteria.order_by("position"))
        form = forms.QAReviewForm(request.POST or None, criteria=criteria)
        if request.method == "POST" and form.is_valid():
            try:
                review = services.qa_review_record(
                    interaction=interaction,
                    scorecard=scorecard,
                    marks=form.marks(),
                    notes=form.notes(),
                    comments=form.cleaned_data["comments"],
                    by=request.user,
                )
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Review saved: {review.score}%.")
                return redirect("inquiries:qa_review_detail", reference=review.reference)
    return render(
        request,
        "inquiries/qa_review_form.html",
        {"interaction": interaction, "scorecards": scorecards, "scorecard": scorecard, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def qa_review_detail(request: HttpRequest, reference: UUID) -> HttpResponse:
    """A review, for supervisors and for the representative whose contact it scored."""
    organization = organization_for(request)
    review = get_object_or_404(
        QAReview.objects.visible_to(request.user)
        .in_organization(organization)
        .select_related("scorecard", "reviewer", "representative", "interaction__case"),
        reference=reference,
    )
    if review.representative_id != request.user.pk and not perms.can_review_quality(request.user, review):
        raise Http404("No such review")
    scores = list(review.scores.select_related("criterion").order_by("criterion__position"))
    return render(request, "inquiries/qa_review_detail.html", {"review": review, "scores": scores})


@login_required
def scorecard_list(request: HttpRequest) -> HttpResponse:
    organization = organization_for(request)
    can_manage = perms.can_manage_case_settings(request.user, organization)
    require(
        can_manage or perms.can_review_quality(request.user, organization), "Scorecards are for supervisors."
    )
    form = forms.ScorecardForm(request.POST or None)
    if request.method == "POST":
        require(can_manage, "Only an admin may write scorecards.")
        action = request.POST.get("action", "")
        if action in ("retire", "restore"):
            scorecard = get_object_or_404(
                Scorecard.objects.filter(organization=organization), reference=request.POST.get("scorecard")
            )
            services.scorecard_set_active(scorecard=scorecard, is_active=action == "restore", by=request.user)
            messages.success(
                request, f"Scorecard {scorecard.name} {'in use' if action == 'restore' else 'retired'}."
            )
            return redirect("inquiries:scorecard_list")
        if form.is_valid():
            try:
                scorecard = services.scorecard_create(
                    organization=organization, by=request.user, **form.cleaned_data
                )
            except DomainError as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, f"Scorecard {scorecard.name} saved.")
                return redirect("inquiries:scorecard_list")
    scorecards = list(
        Scorecard.objects.filter(organization=organization)
        .prefetch_related("criteria")
        .order_by("-is_active", "name")
    )
    return render(
        request,
        "inquiries/scorecard_list.html",
        {"scorecards": scorecards, "form": form, "can_manage": can_manage},
        status=400 if request.method == "POST" else 200,
    )
