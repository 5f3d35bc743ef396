from django.urls import path

from accounts import views, views_actions
from accounts.import_urls import urlpatterns as import_patterns
from accounts.statement_urls import urlpatterns as statement_patterns

app_name = "accounts"

urlpatterns = [
    path("patients/", views.patient_search, name="patient_search"),
    path("patients/<uuid:reference>/", views.patient_detail, name="patient_detail"),
    path("patients/<uuid:reference>/edit/", views_actions.patient_edit, name="patient_edit"),
    path("patients/<uuid:reference>/coverages/add/", views_actions.coverage_add, name="coverage_add"),
    path("patients/<uuid:reference>/contacts/add/", views_actions.contact_add, name="contact_add"),
    path("coverages/<uuid:reference>/edit/", views_actions.coverage_edit, name="coverage_edit"),
    path("coverages/<uuid:reference>/verify/", views_actions.coverage_verify, name="coverage_verify"),
    path("contacts/<uuid:reference>/end/", views_actions.contact_end, name="contact_end"),
    path("accounts/<uuid:reference>/", views.account_detail, name="account_detail"),
    path("accounts/<uuid:reference>/adjust/", views_actions.adjust, name="adjust"),
    path("accounts/<uuid:reference>/transfer/", views_actions.transfer, name="transfer"),
    path("accounts/<uuid:reference>/status/", views_actions.status_change, name="status_change"),
    path("accounts/<uuid:reference>/flags/", views_actions.flags, name="flags"),
    path("ledger/<uuid:reference>/reverse/", views_actions.entry_reverse, name="entry_reverse"),
    path("charges/<uuid:reference>/correct/", views_actions.charge_correct, name="charge_correct"),
    path("charge-edits/<uuid:reference>/override/", views_actions.edit_override, name="edit_override"),
    path("approvals/", views_actions.approvals, name="approvals"),
    path("approvals/<uuid:reference>/approve/", views_actions.approval_approve, name="approval_approve"),
    path("approvals/<uuid:reference>/reject/", views_actions.approval_reject, name="approval_reject"),
    path("approvals/<uuid:reference>/withdraw/", views_actions.approval_withdraw, name="approval_withdraw"),
    *statement_patterns,
    *import_patterns,
]
