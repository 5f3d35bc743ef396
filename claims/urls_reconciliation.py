"""Claims pages: deposits and their matching, the daily reconciliation report, insurance audits,
and the official CARC/RARC texts. One URL per action."""

from django.urls import path

from claims import views_reconciliation as views

urlpatterns = [
    # Deposits.
    path("deposits/", views.deposit_list, name="deposit_list"),
    path("deposits/new/", views.deposit_create, name="deposit_create"),
    path("deposits/import/", views.deposit_import, name="deposit_import"),
    path("deposits/import/template.csv", views.deposit_import_template, name="deposit_import_template"),
    path("deposits/match-pending/", views.deposit_match_pending, name="deposit_match_pending"),
    path("deposits/<uuid:reference>/", views.deposit_detail, name="deposit_detail"),
    path("deposits/<uuid:reference>/match/", views.deposit_match, name="deposit_match"),
    path("deposits/<uuid:reference>/unmatch/", views.deposit_unmatch, name="deposit_unmatch"),
    # Daily reconciliation.
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/day/", views.reconciliation_day_view, name="reconciliation_day"),
    path("reconciliation/export.csv", views.reconciliation_export, name="reconciliation_export"),
    # Insurance audits.
    path("audits/", views.audit_list, name="audit_list"),
    path("audits/new/", views.audit_create, name="audit_create"),
    path("audits/<uuid:reference>/", views.audit_detail, name="audit_detail"),
    path("audits/<uuid:reference>/status/", views.audit_status, name="audit_status"),
    path("audits/<uuid:reference>/findings/", views.audit_findings, name="audit_findings"),
    path("audits/<uuid:reference>/claims/", views.audit_add_claims, name="audit_add_claims"),
    path("audits/<uuid:reference>/documents/", views.audit_document_upload, name="audit_document_upload"),
    path(
        "audits/<uuid:reference>/documents/<uuid:document_reference>/",
        views.audit_document_download,
        name="audit_document_download",
    ),
    # Official code texts (supervisors).
    path("codes/", views.code_list, name="code_list"),
    path("codes/upload/", views.code_upload, name="code_upload"),
]
