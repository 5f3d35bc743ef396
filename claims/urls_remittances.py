"""Claims pages: remittances (inbox, upload, file, claim payment, manual EOB) and the work posting
leaves (exceptions queue, denials, variances)."""

from django.urls import path

from claims import views_remittances, views_work

urlpatterns = [
    path("remittances/", views_remittances.remittance_inbox, name="remittance_inbox"),
    path("remittances/upload/", views_remittances.remittance_upload, name="remittance_upload"),
    path("remittances/eob/new/", views_remittances.eob_entry, name="eob_entry"),
    path("remittances/<uuid:reference>/", views_remittances.remittance_detail, name="remittance_detail"),
    path(
        "claim-payments/<uuid:reference>/",
        views_remittances.claim_payment_detail,
        name="claim_payment_detail",
    ),
    path("posting-exceptions/", views_work.exception_list, name="exception_list"),
    path("posting-exceptions/<uuid:reference>/", views_work.exception_detail, name="exception_detail"),
    path(
        "posting-exceptions/<uuid:reference>/resolve/", views_work.exception_resolve, name="exception_resolve"
    ),
    path(
        "posting-exceptions/<uuid:reference>/dismiss/", views_work.exception_dismiss, name="exception_dismiss"
    ),
    path("posting-exceptions/<uuid:reference>/assign/", views_work.exception_assign, name="exception_assign"),
    path("denials/", views_work.denial_list, name="denial_list"),
    path("denials/export.csv", views_work.denial_export, name="denial_export"),
    path("denials/<uuid:reference>/", views_work.denial_detail, name="denial_detail"),
    path("denials/<uuid:reference>/transition/", views_work.denial_transition, name="denial_transition"),
    path("variances/", views_work.variance_list, name="variance_list"),
    path("variances/<uuid:reference>/", views_work.variance_detail, name="variance_detail"),
    path(
        "variances/<uuid:reference>/transition/", views_work.variance_transition, name="variance_transition"
    ),
]
