"""Statements API: an account's documents, making a statement, and a document's PDF.

``GET/POST /api/v1/accounts/{reference}/statements/`` list an account's documents and
make a new statement; ``GET /api/v1/documents/{reference}/`` and ``…/pdf/`` read one
document. Accounts and documents come from ``visible_to(request.user)``: another
organization's references answer 404. Anyone who may see an account may make a
printed statement; emailing one also needs ``can_edit_patient`` (403 otherwise, from
the service). Reading a PDF writes the PHI access log against the account; so does
listing an account's documents or reading one document's details, which carry the
address a statement was emailed to.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import EnumField
from accounts.models import PatientAccount
from accounts.permissions import can_view_account
from accounts.statements import STATEMENT_KINDS, documents_for, statement_generate
from correspondence.models import Document, DocumentKind
from staff.api.base import CONFLICT, FORBIDDEN, INVALID, NOT_FOUND, StaffViewSet
from staff.models import PhiAccessLog
from staff.phi import phi_access_record


class DocumentSerializer(serializers.ModelSerializer):
    """A stored document without its content; ``pdf_url`` serves the PDF."""

    kind = EnumField(DocumentKind, "DocumentKindEnum", read_only=True)
    delivery = EnumField(Document.Delivery, "DocumentDeliveryEnum", read_only=True)
    account = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.full_name", read_only=True)
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "reference",
            "account",
            "kind",
            "title",
            "page_count",
            "byte_size",
            "sha256",
            "delivery",
            "email_to",
            "sent_at",
            "created_at",
            "created_by",
            "pdf_url",
        ]
        read_only_fields = fields

    def get_account(self, document: Document) -> UUID:
        account = self.context.get("account")
        if account is not None and account.pk == document.subject_id:
            return account.reference
        return PatientAccount.objects.values_list("reference", flat=True).get(pk=document.subject_id)

    def get_pdf_url(self, document: Document) -> str:
        path = reverse("api:document-pdf", args=[document.reference])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class StatementGenerateInputSerializer(serializers.Serializer):
    kind = EnumField([(kind.value, kind.label) for kind in STATEMENT_KINDS], "StatementKindEnum")
    email_to = serializers.EmailField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Email the PDF to this address after it is stored (needs a role that may change the "
        "patient's record). Leave out to print and mail it.",
    )


class AccountStatementViewSet(StaffViewSet):
    """The documents of one account, and new statements of it."""

    serializer_class = DocumentSerializer
    # The documents come from the account in the URL (see ``list``); this names the model for the schema.
    queryset = Document.objects.none()
    predicates = {"list": can_view_account, "create": can_view_account}

    def account(self) -> PatientAccount:
        account = get_object_or_404(
            PatientAccount.objects.visible_to(self.request.user).select_related("organization"),
            reference=self.kwargs["reference"],
        )
        self.check_object_permissions(self.request, account)
        return account

    @extend_schema(
        operation_id="accounts_statements_list",
        summary="Statements and letters of an account, newest first",
        description="Metadata only; each row's `pdf_url` serves the file.",
        responses={200: DocumentSerializer(many=True), 404: NOT_FOUND},
    )
    def list(self, request: Request, reference: UUID) -> Response:
        account = self.account()
        phi_access_record(request=request, subject=account, organization=account.organization)
        page = self.paginate_queryset(documents_for(account))
        context = {**self.get_serializer_context(), "account": account}
        return self.get_paginated_response(DocumentSerializer(page, many=True, context=context).data)

    @extend_schema(
        operation_id="accounts_statements_create",
        summary="Make a patient or itemized statement of an account",
        description="Draws the statement with the organization's default template, stores it on the account "
        "(its timeline notes it, and the account's last statement date moves to today) and, when `email_to` "
        "is given, emails the PDF after the statement is stored: `sent_at` is set once the mail server took "
        "it. Any member may make a printed statement; emailing needs a role that may change the patient's "
        "record.",
        request=StatementGenerateInputSerializer,
        responses={201: DocumentSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def create(self, request: Request, reference: UUID) -> Response:
        account = self.account()
        data = self.run_input(StatementGenerateInputSerializer, request.data)
        document = statement_generate(
            account=account, kind=data["kind"], email_to=data["email_to"], by=request.user
        )
        context = {**self.get_serializer_context(), "account": account}
        return Response(DocumentSerializer(document, context=context).data, status=status.HTTP_201_CREATED)


class _FirstRenderer(BaseContentNegotiation):
    """The PDF is returned as it is stored, whatever the client accepts; errors are JSON."""

    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None) -> tuple:
        return renderers[0], renderers[0].media_type

    def select_parser(self, request: Request, parsers: list) -> Any:
        return parsers[0] if parsers else None


@extend_schema_view(
    retrieve=extend_schema(
        summary="One stored document of an account (without its content)",
        responses={200: DocumentSerializer, 404: NOT_FOUND},
    )
)
class DocumentViewSet(mixins.RetrieveModelMixin, StaffViewSet):
    serializer_class = DocumentSerializer
    predicates = {"retrieve": can_view_account, "pdf": can_view_account}

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        document = self.get_object()
        account = PatientAccount.objects.select_related("organization").get(pk=document.subject_id)
        phi_access_record(request=request, subject=account, organization=account.organization)
        return Response(self.get_serializer(document).data)

    def get_queryset(self) -> QuerySet[Document]:
        queryset = Document.objects.visible_to(self.request.user).of_subject_model(PatientAccount)
        if self.action == "pdf":
            return queryset
        return queryset.without_content().select_related("created_by")

    @extend_schema(
        operation_id="documents_pdf",
        summary="The PDF of a stored document",
        description="Exactly the file that was printed or sent. Reading it is written to the PHI access log.",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file."),
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"], content_negotiation_class=_FirstRenderer)
    def pdf(self, request: Request, reference: UUID) -> HttpResponse:
        document = self.get_object()
        account = PatientAccount.objects.select_related("organization").get(pk=document.subject_id)
        phi_access_record(
            request=request,
            subject=account,
            organization=account.organization,
            action=PhiAccessLog.Action.DOWNLOAD,
        )
        response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
        response["Cache-Control"] = "private, no-store"
        return response
