"""CSV imports over the API: ``POST /api/v1/imports/<kind>/`` with a multipart file.

One explicit action per kind (patients, accounts, coverages, charges), so that each has
its column reference in the OpenAPI docs. The caller names the organization by its
reference: one they are not an active member of answers 404, a role that may not import
answers 403. A clean file answers 200 with the report; a rejected one answers 400 with
``{"error": {"code": "invalid_input", "message": …, "details": {"errors": [{line, column,
message}…], "total": …}}}`` and nothing imported (the project's exception handler renders
``CsvRejected``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.imports import KINDS, MAX_FILE_BYTES, csv_import
from accounts.permissions import can_import_accounts
from core.errors import InvalidInput
from staff.api.base import CONFLICT, FORBIDDEN, NOT_FOUND, StaffViewSet
from staff.permissions import require


class ImportUploadInputSerializer(serializers.Serializer):
    organization = serializers.UUIDField(help_text="Reference of the organization to import into.")
    file = serializers.FileField(
        help_text=f"The CSV file: UTF-8, comma-separated, column names on the first line, "
        f"at most {MAX_FILE_BYTES // (1024 * 1024)} MB."
    )


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line of the file; 1 is the line with the column names.")
    column = serializers.CharField(help_text="The column's name; empty when the problem is the whole line.")
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    kind = serializers.CharField()
    filename = serializers.CharField()
    rows = serializers.IntegerField(help_text="Data rows in the file.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text="Rows whose key exists with the same values.")
    errors = ImportErrorSerializer(many=True, help_text="Always empty in a 200 response.")


REJECTED = OpenApiResponse(
    description="The file was not imported. `error.details.errors` lists every problem with its line and "
    "column (at most 1000; `error.details.total` counts them all)."
)


def _schema(kind: str) -> dict[str, Any]:
    spec = KINDS[kind]
    rows = "\n".join(
        f"| `{c.name}` | {'yes' if c.required else 'no'} | {c.description} | {c.example} |"
        for c in spec.columns
    )
    return {
        "operation_id": f"imports_{kind}",
        "summary": f"Import {spec.label.lower()} from a CSV file (posting specialists, supervisors, admins)",
        "description": (
            f"Validates the whole file, then imports it in one transaction or not at all. Rows are keyed "
            f"by `{spec.key}`: a row whose key exists with the same values is unchanged, so sending a file "
            f"twice changes nothing the second time.\n\n"
            f"| Column | Required | What it holds | Example |\n|---|---|---|---|\n{rows}"
        ),
        "request": {"multipart/form-data": ImportUploadInputSerializer},
        "responses": {
            200: ImportReportSerializer,
            400: REJECTED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
    }


class ImportViewSet(StaffViewSet):
    parser_classes = [MultiPartParser]
    pagination_class = None
    filter_backends: list = []
    predicates = dict.fromkeys(KINDS, can_import_accounts)

    def _import(self, request: Request, kind: str) -> Response:
        data = self.run_input(ImportUploadInputSerializer, request.data)
        organization = self.visible_organization(data["organization"])
        require(
            can_import_accounts(request.user, organization),
            "Only posting specialists, supervisors and admins import files.",
        )
        upload = data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise InvalidInput(
                f"file: the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it", field="file"
            )
        report = csv_import(
            organization=organization, kind=kind, content=upload.read(), filename=upload.name, by=request.user
        )
        return Response(ImportReportSerializer(report.as_dict()).data)

    @extend_schema(**_schema("patients"))
    @action(detail=False, methods=["post"])
    def patients(self, request: Request) -> Response:
        return self._import(request, "patients")

    @extend_schema(**_schema("accounts"))
    @action(detail=False, methods=["post"])
    def accounts(self, request: Request) -> Response:
        return self._import(request, "accounts")

    @extend_schema(**_schema("coverages"))
    @action(detail=False, methods=["post"])
    def coverages(self, request: Request) -> Response:
        return self._import(request, "coverages")

    @extend_schema(**_schema("charges"))
    @action(detail=False, methods=["post"])
    def charges(self, request: Request) -> Response:
        return self._import(request, "charges")
