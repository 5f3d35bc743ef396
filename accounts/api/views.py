"""Accounts API: patients, coverages, authorized contacts, accounts, charges, the ledger and
adjustment approvals.

Every queryset starts from ``visible_to(request.user)``, so another organization's rows
are simply not there: their references answer 404 in URLs, "does not exist" (400) in
request bodies, and never appear in lists. What a member may do is decided by the
predicates of ``accounts.permissions``, named per action in ``predicates`` and checked
by ``OrganizationRolePermission``; every write goes through ``accounts.services``, which
checks them again inside its transaction.

PHI access log: every read of one patient's record writes a row. Retrieving a patient,
a coverage or an authorized contact logs the patient; retrieving an account, a charge, a
ledger entry or an adjustment request, or reading an account's ledger, logs the account.
The patient list is not logged: it is how staff find the record to open, and it shows
only what identifies a person (name, date of birth, MRN). Lists that return more than
that (coverages with member ids, authorized contacts, charges with diagnoses, ledger
entries, adjustment requests) log one row per patient or account on the page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services
from accounts.aging import BANDS, account_aging
from accounts.api.filters import (
    AccountFilterSet,
    AdjustmentRequestFilterSet,
    AuthorizedContactFilterSet,
    ChargeFilterSet,
    CoverageFilterSet,
    LedgerEntryFilterSet,
    PatientFilterSet,
)
from accounts.api.serializers import (
    AccountAdjustInputSerializer,
    AccountChangeStatusInputSerializer,
    AccountChargesInputSerializer,
    AccountCreateInputSerializer,
    AccountDetailSerializer,
    AccountLedgerEntrySerializer,
    AccountSerializer,
    AccountTransferInputSerializer,
    AccountUpdateInputSerializer,
    AdjustmentRequestApproveInputSerializer,
    AdjustmentRequestRejectInputSerializer,
    AdjustmentRequestSerializer,
    AuthorizedContactCreateInputSerializer,
    AuthorizedContactEndInputSerializer,
    AuthorizedContactSerializer,
    ChargeCorrectInputSerializer,
    ChargeOverrideEditInputSerializer,
    ChargeSerializer,
    CoverageCreateInputSerializer,
    CoverageSerializer,
    CoverageUpdateInputSerializer,
    CoverageVerifyInputSerializer,
    LedgerEntryReverseInputSerializer,
    LedgerEntrySerializer,
    PatientBriefSerializer,
    PatientCreateInputSerializer,
    PatientDetailSerializer,
    PatientSerializer,
    PatientUpdateInputSerializer,
)
from accounts.models import (
    ZERO,
    AccountBucket,
    AdjustmentRequest,
    AuthorizedContact,
    Charge,
    ChargeEdit,
    Coverage,
    LedgerEntry,
    Patient,
    PatientAccount,
)
from accounts.permissions import (
    can_adjust_balance,
    can_approve_adjustments,
    can_change_account_status,
    can_create_account,
    can_edit_patient,
    can_override_edits,
    can_post_charges,
    can_reverse_entries,
)
from core.api import StableCursorPagination
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet, organizations_where
from staff.models import Organization
from staff.phi import phi_access_record, phi_access_record_many

ACCEPTED = OpenApiResponse(
    AdjustmentRequestSerializer,
    description="The amount is above your approval limit: nothing is posted yet, and the request waits "
    "for a supervisor.",
)


def record_access(request: Request, subject: Any, organization: Organization) -> None:
    """One PHI access log row: ``request.user`` read ``subject`` (a patient or an account)."""
    phi_access_record(request=request, subject=subject, organization=organization)


class LogsListedRecords:
    """Writes the PHI access log for the patients or accounts whose data a list page returns."""

    phi_subject = "patient"  # the attribute of each row that is the record read

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)  # type: ignore[misc]
        rows = page if page is not None else []
        if self.action == "list" and rows:  # type: ignore[attr-defined]
            phi_access_record_many(
                request=self.request,  # type: ignore[attr-defined]
                subjects=[getattr(row, self.phi_subject) for row in rows],
            )
        return page


def changes_of(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of an ``update``-style input other than its ``reason``."""
    return {name: value for name, value in data.items() if name != "reason"}


class PostingOrderPagination(StableCursorPagination):
    """An account's ledger in posting order, oldest first, paged along the (account, id) index.

    Unlike other lists, the cursor carries an integer id: ledger entries have no creation
    stamp of their own (a batch of postings shares ``posted_at``), and the id is the order
    the running balance is summed in. The list is one account's, already visible to the
    caller.
    """

    ordering = ("id",)


class PostedNewestFirstPagination(StableCursorPagination):
    """Ledger entries across accounts, most recently posted first; the cursor holds a timestamp."""

    ordering = ("-posted_at", "-id")


# --- reads used by the viewsets below ------------------------------------------------------------


def account_queryset(user: Any) -> QuerySet[PatientAccount]:
    open_edits = (
        ChargeEdit.objects.filter(
            charge__account=OuterRef("pk"),
            charge__status=Charge.Status.POSTED,
            status=ChargeEdit.Status.OPEN,
        )
        .order_by()
        .values("charge__account")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        PatientAccount.objects.visible_to(user)
        .select_related("organization", "patient__organization")
        .annotate(open_edit_count=Coalesce(Subquery(open_edits, output_field=IntegerField()), 0))
    )


def charge_queryset(user: Any) -> QuerySet[Charge]:
    return (
        Charge.objects.visible_to(user)
        .select_related("organization", "account")
        .prefetch_related(
            Prefetch(
                "edits", queryset=ChargeEdit.objects.select_related("resolved_by").order_by("rule", "field")
            )
        )
    )


def ledger_entry_queryset(user: Any) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.visible_to(user).select_related(
        "organization", "account", "coverage__plan__payer", "charge", "reverses", "reversed_by", "actor"
    )


def account_buckets(account: PatientAccount) -> list[dict[str, Any]]:
    """Balance and aging of each responsible party: coverages in order of payment, then the patient."""
    aging = account_aging(account.pk)
    buckets = sorted(
        AccountBucket.objects.filter(account=account).select_related("coverage__plan__payer"),
        key=lambda b: (b.coverage is None, b.coverage.priority if b.coverage else 0, b.pk),
    )
    rows = []
    for bucket in buckets:
        coverage = bucket.coverage
        bands = aging[bucket.coverage_id].bands if bucket.coverage_id in aging else [ZERO] * len(BANDS)
        rows.append(
            {
                "coverage": coverage.reference if coverage else None,
                "party": coverage.plan.payer.name if coverage else "Patient",
                "priority": coverage.priority if coverage else None,
                "balance": bucket.balance,
                "aging": dict(zip(BANDS, bands, strict=True)),
            }
        )
    return rows


# --- patients ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Patients of your organizations",
        description="Search with `q`. Each row identifies a person (name, date of birth, MRN); open the "
        "patient for the full record. Rows are paged newest first, like every list.",
    ),
    retrieve=extend_schema(
        summary="A patient's record: demographics, coverages in order, authorized contacts, accounts",
        description="Writes a row in the PHI access log.",
        responses={200: PatientDetailSerializer, 404: NOT_FOUND},
    ),
)
class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    filterset_class = PatientFilterSet
    predicates = {"create": can_edit_patient, "update_details": can_edit_patient}

    def get_queryset(self) -> QuerySet[Patient]:
        queryset = Patient.objects.visible_to(self.request.user).select_related("organization")
        if self.action != "retrieve":
            return queryset
        today = timezone.localdate()
        is_current = Q(start_date__lte=today) & (Q(end_date__isnull=True) | Q(end_date__gte=today))
        return queryset.prefetch_related(
            Prefetch(
                "coverages",
                queryset=Coverage.objects.select_related(
                    "organization", "plan__payer", "verified_by"
                ).order_by("-is_active", "priority", "-effective_from", "id"),
            ),
            Prefetch(
                "authorized_contacts",
                queryset=AuthorizedContact.objects.select_related("organization").order_by(
                    Case(When(is_current, then=Value(0)), default=Value(1)), "name", "id"
                ),
            ),
            Prefetch("accounts", queryset=PatientAccount.objects.order_by("-service_from", "account_number")),
        )

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return PatientDetailSerializer if self.action == "retrieve" else PatientBriefSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patient = self.get_object()
        record_access(request, patient, patient.organization)
        return Response(PatientDetailSerializer(patient).data)

    @extend_schema(
        summary="Register a patient (account workers)",
        request=PatientCreateInputSerializer,
        responses={201: PatientSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(PatientCreateInputSerializer, request.data)
        organization = self.visible_organization(data.pop("organization"))
        patient = services.patient_create(organization=organization, by=request.user, **data)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="patients_update",
        summary="Change a patient's demographics or preferences (account workers)",
        description="Send the fields to change (omitted ones keep their value) and a `reason`; any other "
        "field is refused with 400. The timeline names the changed fields, never their values.",
        request=PatientUpdateInputSerializer,
        responses={200: PatientSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_details(self, request: Request, reference: UUID) -> Response:
        patient = self.get_object()
        data = self.run_input(PatientUpdateInputSerializer, request.data)
        patient = services.patient_update(
            patient=patient, changes=changes_of(data), reason=data["reason"], by=request.user
        )
        return Response(PatientSerializer(patient).data)


# --- coverages -----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Coverages of your organizations' patients"),
    retrieve=extend_schema(
        summary="One coverage with its latest eligibility check",
        description="Writes a row in the PHI access log (the patient's).",
        responses={200: CoverageSerializer, 404: NOT_FOUND},
    ),
)
class CoverageViewSet(LogsListedRecords, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    phi_subject = "patient"
    serializer_class = CoverageSerializer
    filterset_class = CoverageFilterSet
    predicates = {"create": can_edit_patient, "update_details": can_edit_patient, "verify": can_edit_patient}

    def get_queryset(self) -> QuerySet[Coverage]:
        return Coverage.objects.visible_to(self.request.user).select_related(
            "organization", "patient", "plan__payer", "verified_by"
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        coverage = self.get_object()
        record_access(request, coverage.patient, coverage.organization)
        return Response(CoverageSerializer(coverage).data)

    def _fresh(self, coverage: Coverage) -> Coverage:
        return self.get_queryset().get(pk=coverage.pk)

    @extend_schema(
        summary="Add a coverage (account workers)",
        description="The coverage takes its place in the order; an active one already in that place "
        "moves down (primary becomes secondary). The plan must belong to the patient's organization.",
        request=CoverageCreateInputSerializer,
        responses={201: CoverageSerializer, 400: INVALID, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(CoverageCreateInputSerializer, request.data)
        coverage = services.coverage_add(by=request.user, **data)
        return Response(CoverageSerializer(self._fresh(coverage)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="coverages_update",
        summary="Change a coverage (account workers)",
        description="Send the fields to change and a `reason`; any other field is refused with 400.",
        request=CoverageUpdateInputSerializer,
        responses={200: CoverageSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_details(self, request: Request, reference: UUID) -> Response:
        coverage = self.get_object()
        serializer = CoverageUpdateInputSerializer(
            data=request.data, context={**self.get_serializer_context(), "coverage": coverage}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.coverage_update(
            coverage=coverage, changes=changes_of(data), reason=data["reason"], by=request.user
        )
        return Response(CoverageSerializer(self._fresh(coverage)).data)

    @extend_schema(
        operation_id="coverages_verify",
        summary="Record an eligibility check (account workers)",
        request=CoverageVerifyInputSerializer,
        responses={200: CoverageSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, reference: UUID) -> Response:
        coverage = self.get_object()
        data = self.run_input(CoverageVerifyInputSerializer, request.data)
        services.coverage_verify(coverage=coverage, by=request.user, **data)
        return Response(CoverageSerializer(self._fresh(coverage)).data)


# --- authorized contacts -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Authorized contacts of your organizations' patients"),
    retrieve=extend_schema(
        summary="One authorized contact",
        description="Writes a row in the PHI access log (the patient's).",
        responses={200: AuthorizedContactSerializer, 404: NOT_FOUND},
    ),
)
class AuthorizedContactViewSet(
    LogsListedRecords, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet
):
    phi_subject = "patient"
    serializer_class = AuthorizedContactSerializer
    filterset_class = AuthorizedContactFilterSet
    predicates = {"create": can_edit_patient, "end": can_edit_patient}

    def get_queryset(self) -> QuerySet[AuthorizedContact]:
        return AuthorizedContact.objects.visible_to(self.request.user).select_related(
            "organization", "patient"
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contact = self.get_object()
        record_access(request, contact.patient, contact.organization)
        return Response(AuthorizedContactSerializer(contact).data)

    @extend_schema(
        summary="Record someone the patient allows staff to talk to (account workers)",
        request=AuthorizedContactCreateInputSerializer,
        responses={201: AuthorizedContactSerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(AuthorizedContactCreateInputSerializer, request.data)
        contact = services.authorized_contact_add(by=request.user, **data)
        return Response(
            AuthorizedContactSerializer(self.get_queryset().get(pk=contact.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="authorized_contacts_end",
        summary="Stop disclosures to a contact from a date (account workers)",
        description="The contact is kept for the record; it is no longer current after `end_date`.",
        request=AuthorizedContactEndInputSerializer,
        responses={200: AuthorizedContactSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def end(self, request: Request, reference: UUID) -> Response:
        contact = self.get_object()
        data = self.run_input(AuthorizedContactEndInputSerializer, request.data)
        contact = services.authorized_contact_end(
            contact=contact, end_date=data["end_date"], reason=data["reason"], by=request.user
        )
        return Response(AuthorizedContactSerializer(contact).data)


# --- accounts ------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Accounts of your organizations"),
    retrieve=extend_schema(
        summary="An account's header: patient, guarantor, balances and aging per responsible party, flags",
        description="Writes a row in the PHI access log.",
        responses={200: AccountDetailSerializer, 404: NOT_FOUND},
    ),
)
class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    filterset_class = AccountFilterSet
    predicates = {
        "create": can_create_account,
        "update_details": can_edit_patient,
        "change_status": can_change_account_status,
        "transfer": can_adjust_balance,
        "adjust": can_adjust_balance,
        "post_charges": can_post_charges,
    }

    def get_queryset(self) -> QuerySet[PatientAccount]:
        queryset = account_queryset(self.request.user)
        if self.action == "retrieve":
            queryset = queryset.select_related("guarantor")
        return queryset

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return AccountDetailSerializer if self.action == "retrieve" else AccountSerializer

    def _fresh(self, account: PatientAccount) -> PatientAccount:
        return self.get_queryset().get(pk=account.pk)

    def _entries(self, entries: list[LedgerEntry]) -> QuerySet[LedgerEntry]:
        return ledger_entry_queryset(self.request.user).filter(pk__in=[e.pk for e in entries]).order_by("id")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        account = self.get_object()
        record_access(request, account, account.organization)
        account.bucket_summary = account_buckets(account)
        return Response(AccountDetailSerializer(account).data)

    @extend_schema(
        summary="Open an account (posting specialists, supervisors, admins)",
        request=AccountCreateInputSerializer,
        responses={201: AccountSerializer, 400: INVALID, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request: Request) -> Response:
        data = self.run_input(AccountCreateInputSerializer, request.data)
        account = services.account_create(by=request.user, **data)
        return Response(AccountSerializer(self._fresh(account)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="accounts_update",
        summary="Change an account's flags or descriptive fields (account workers)",
        description="Dispute hold, interpreter needed, financial assistance pending, facility, service end "
        "date and financial class. Send the fields to change and a `reason`.",
        request=AccountUpdateInputSerializer,
        responses={200: AccountSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def update_details(self, request: Request, reference: UUID) -> Response:
        account = self.get_object()
        data = self.run_input(AccountUpdateInputSerializer, request.data)
        services.account_update(
            account=account, changes=changes_of(data), reason=data["reason"], by=request.user
        )
        return Response(AccountSerializer(self._fresh(account)).data)

    @extend_schema(
        operation_id="accounts_change_status",
        summary="Move an account to another status (senior representatives, supervisors, admins)",
        description="Refused with 409 when the transition is not allowed, when the account is on dispute "
        "hold (collections, bad debt) or when it still has a balance (closed).",
        request=AccountChangeStatusInputSerializer,
        responses={200: AccountSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="change-status", url_name="change-status")
    def change_status(self, request: Request, reference: UUID) -> Response:
        account = self.get_object()
        data = self.run_input(AccountChangeStatusInputSerializer, request.data)
        services.account_status_change(
            account=account, status=data["status"], reason=data["reason"], by=request.user
        )
        return Response(AccountSerializer(self._fresh(account)).data)

    @extend_schema(
        operation_id="accounts_transfer",
        summary="Move a balance between responsible parties (account workers)",
        description="Posts two transfer entries that sum to zero and returns them.",
        request=AccountTransferInputSerializer,
        responses={201: LedgerEntrySerializer(many=True), 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def transfer(self, request: Request, reference: UUID) -> Response:
        account = self.get_object()
        data = self.run_input(AccountTransferInputSerializer, request.data)
        entries = services.balance_transfer(account=account, by=request.user, **data)
        return Response(
            LedgerEntrySerializer(self._entries(entries), many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="accounts_adjust",
        summary="Adjust or write off part of a balance (account workers, within their approval limit)",
        description="Within your approval limit the entry is posted at once (201). Above it an approval "
        "request goes to a supervisor and nothing is posted yet (202).",
        request=AccountAdjustInputSerializer,
        responses={
            201: LedgerEntrySerializer,
            202: ACCEPTED,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def adjust(self, request: Request, reference: UUID) -> Response:
        account = self.get_object()
        data = self.run_input(AccountAdjustInputSerializer, request.data)
        outcome = services.adjustment_submit(account=account, by=request.user, **data)
        if outcome.entry is not None:
            entry = self._entries([outcome.entry]).get()
            return Response(LedgerEntrySerializer(entry).data, status=status.HTTP_201_CREATED)
        adjustment = AdjustmentRequest.objects.select_related(
            "organization", "account", "coverage", "requested_by", "decided_by", "entry"
        ).get(pk=outcome.request.pk)
        return Response(AdjustmentRequestSerializer(adjustment).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="accounts_post_charges",
        summary="Post charges on an account (posting specialists, supervisors, admins)",
        description="All or nothing: one invalid line posts none. Each charge's entry goes to the coverage "
        "responsible on its service date (the patient for self-pay); charge edits are run at once and "
        "come back with the charges.",
        request=AccountChargesInputSerializer,
        responses={201: ChargeSerializer(many=True), 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="charges",
        url_name="charges",
        pagination_class=None,
        filterset_class=None,
    )
    def post_charges(self, request: Request, reference: UUID) -> Response:
        account = self.get_object()
        data = self.run_input(AccountChargesInputSerializer, request.data)
        items = [
            services.ChargeInput(
                **{
                    **line,
                    "modifiers": tuple(line.get("modifiers", ())),
                    "diagnoses": tuple(line.get("diagnoses", ())),
                }
            )
            for line in data["charges"]
        ]
        charges = services.charge_post(account=account, items=items, by=request.user)
        fresh = charge_queryset(request.user).filter(pk__in=[c.pk for c in charges]).order_by("id")
        return Response(ChargeSerializer(fresh, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="accounts_ledger",
        summary="An account's ledger in posting order, with the balance after each entry",
        description="Oldest first, paged by cursor: follow `next` to the end. Writes a row in the PHI "
        "access log.",
        responses={200: AccountLedgerEntrySerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], pagination_class=PostingOrderPagination, filterset_class=None)
    def ledger(self, request: Request, reference: UUID) -> Response:
        account = self.get_object()
        record_access(request, account, account.organization)
        page = self.paginate_queryset(ledger_entry_queryset(request.user).filter(account=account))
        # The balance before the page, then a running sum over it: a window function would
        # restart at the page's first row, because the cursor's WHERE applies before it.
        running: Decimal = ZERO
        if page:
            running = LedgerEntry.objects.filter(account=account, id__lt=page[0].pk).total()
        for entry in page:
            running += entry.amount
            entry.running_balance = running
        return self.get_paginated_response(AccountLedgerEntrySerializer(page, many=True).data)


# --- charges ---------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Charges of your organizations' accounts, with their edits"),
    retrieve=extend_schema(
        summary="One charge with its edits",
        description="Writes a row in the PHI access log (the account's).",
        responses={200: ChargeSerializer, 404: NOT_FOUND},
    ),
)
class ChargeViewSet(LogsListedRecords, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    phi_subject = "account"
    serializer_class = ChargeSerializer
    filterset_class = ChargeFilterSet
    predicates = {"correct": can_post_charges, "override_edit": can_override_edits}

    def get_queryset(self) -> QuerySet[Charge]:
        return charge_queryset(self.request.user)

    def _fresh(self, charge: Charge) -> Charge:
        return self.get_queryset().get(pk=charge.pk)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        charge = self.get_object()
        record_access(request, charge.account, charge.organization)
        return Response(ChargeSerializer(charge).data)

    @extend_schema(
        operation_id="charges_correct",
        summary="Fix the coding of a charge (posting specialists, supervisors, admins)",
        description="Codes, modifiers, diagnoses, units and pharmacy fields; the edits run again. Amount "
        "and service date are money facts: reverse the charge's entry and post it again.",
        request=ChargeCorrectInputSerializer,
        responses={200: ChargeSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, reference: UUID) -> Response:
        charge = self.get_object()
        data = self.run_input(ChargeCorrectInputSerializer, request.data)
        services.charge_correct(
            charge=charge, changes=changes_of(data), reason=data["reason"], by=request.user
        )
        return Response(ChargeSerializer(self._fresh(charge)).data)

    @extend_schema(
        operation_id="charges_override_edit",
        summary="Accept a flagged charge as it is (senior representatives, posting specialists, supervisors)",
        request=ChargeOverrideEditInputSerializer,
        responses={200: ChargeSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"], url_path="override-edit", url_name="override-edit")
    def override_edit(self, request: Request, reference: UUID) -> Response:
        charge = self.get_object()
        data = self.run_input(ChargeOverrideEditInputSerializer, request.data)
        edit = (
            ChargeEdit.objects.filter(charge=charge, reference=data["edit"])
            .select_related("organization", "charge__account")
            .first()
        )
        if edit is None:
            raise serializers.ValidationError({"edit": ["No edit with this reference on this charge."]})
        services.charge_edit_override(edit=edit, reason=data["reason"], by=request.user)
        return Response(ChargeSerializer(self._fresh(charge)).data)


# --- ledger entries ----------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Ledger entries of your organizations' accounts, most recently posted first"),
    retrieve=extend_schema(
        summary="One ledger entry",
        description="Writes a row in the PHI access log (the account's).",
        responses={200: LedgerEntrySerializer, 404: NOT_FOUND},
    ),
)
class LedgerEntryViewSet(LogsListedRecords, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet):
    phi_subject = "account"
    """Read-only apart from ``reverse``: entries are never changed, a correction is a new entry."""

    serializer_class = LedgerEntrySerializer
    filterset_class = LedgerEntryFilterSet
    pagination_class = PostedNewestFirstPagination
    predicates = {"reverse": can_reverse_entries}

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        return ledger_entry_queryset(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        entry = self.get_object()
        record_access(request, entry.account, entry.organization)
        return Response(LedgerEntrySerializer(entry).data)

    @extend_schema(
        operation_id="ledger_entries_reverse",
        summary="Undo an entry with its mirror image (posting specialists, supervisors, admins)",
        description="Both halves of a transfer are reversed together. A reversal cannot be reversed, and "
        "an entry is reversed at most once (409). Returns the reversing entries.",
        request=LedgerEntryReverseInputSerializer,
        responses={
            201: LedgerEntrySerializer(many=True),
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def reverse(self, request: Request, reference: UUID) -> Response:
        entry = self.get_object()
        data = self.run_input(LedgerEntryReverseInputSerializer, request.data)
        reversals = services.entry_reverse(entry=entry, reason=data["reason"], by=request.user)
        fresh = self.get_queryset().filter(pk__in=[e.pk for e in reversals]).order_by("id")
        return Response(LedgerEntrySerializer(fresh, many=True).data, status=status.HTTP_201_CREATED)


# --- adjustment requests ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Adjustment requests: all of the organizations you supervise, and your own elsewhere"
    ),
    retrieve=extend_schema(
        summary="One adjustment request",
        description="Writes a row in the PHI access log (the account's).",
        responses={200: AdjustmentRequestSerializer, 404: NOT_FOUND},
    ),
)
class AdjustmentRequestViewSet(
    LogsListedRecords, mixins.ListModelMixin, mixins.RetrieveModelMixin, StaffViewSet
):
    phi_subject = "account"
    serializer_class = AdjustmentRequestSerializer
    filterset_class = AdjustmentRequestFilterSet
    predicates = {"approve": can_approve_adjustments, "reject": can_approve_adjustments}

    def get_queryset(self) -> QuerySet[AdjustmentRequest]:
        # Supervisors work the approval queue of their organizations; anyone else sees only
        # what they asked for (another person's request does not exist for them: 404).
        user = self.request.user
        supervised = organizations_where(user, can_approve_adjustments)
        return (
            AdjustmentRequest.objects.visible_to(user)
            .filter(Q(organization_id__in=supervised) | Q(requested_by_id=user.pk))
            .select_related("organization", "account", "coverage", "requested_by", "decided_by", "entry")
        )

    def _fresh(self, adjustment: AdjustmentRequest) -> AdjustmentRequest:
        return self.get_queryset().get(pk=adjustment.pk)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        adjustment = self.get_object()
        record_access(request, adjustment.account, adjustment.organization)
        return Response(AdjustmentRequestSerializer(adjustment).data)

    @extend_schema(
        operation_id="adjustment_requests_approve",
        summary="Approve and post a pending adjustment (supervisors, admins)",
        description="Your own approval limit must cover the amount, and nobody approves their own request "
        "(403). Refused with 409 when the request was decided meanwhile or the balance has dropped "
        "below the amount.",
        request=AdjustmentRequestApproveInputSerializer,
        responses={
            200: AdjustmentRequestSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, reference: UUID) -> Response:
        adjustment = self.get_object()
        data = self.run_input(AdjustmentRequestApproveInputSerializer, request.data)
        services.adjustment_request_approve(request=adjustment, by=request.user, note=data["note"])
        return Response(AdjustmentRequestSerializer(self._fresh(adjustment)).data)

    @extend_schema(
        operation_id="adjustment_requests_reject",
        summary="Refuse a pending adjustment (supervisors, admins)",
        request=AdjustmentRequestRejectInputSerializer,
        responses={
            200: AdjustmentRequestSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, reference: UUID) -> Response:
        adjustment = self.get_object()
        data = self.run_input(AdjustmentRequestRejectInputSerializer, request.data)
        services.adjustment_request_reject(request=adjustment, by=request.user, note=data["note"])
        return Response(AdjustmentRequestSerializer(self._fresh(adjustment)).data)

    @extend_schema(
        operation_id="adjustment_requests_withdraw",
        summary="Withdraw your own pending request",
        request=None,
        responses={200: AdjustmentRequestSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, reference: UUID) -> Response:
        adjustment = self.get_object()
        services.adjustment_request_withdraw(request=adjustment, by=request.user)
        return Response(AdjustmentRequestSerializer(self._fresh(adjustment)).data)
