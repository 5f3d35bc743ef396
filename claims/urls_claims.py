"""Claims pages: the list, a claim and its actions, creating a claim from an account, 837 upload."""

from django.urls import path

from claims import views_claims as views

urlpatterns = [
    path("claims/", views.claim_list, name="claim_list"),
    path("claims/intake/", views.intake_upload, name="intake_upload"),
    path("claims/create/<uuid:reference>/", views.claim_create, name="claim_create"),
    path("claims/<uuid:reference>/", views.claim_detail, name="claim_detail"),
    path("claims/<uuid:reference>/submit/", views.claim_submit, name="claim_submit"),
    path("claims/<uuid:reference>/status/", views.claim_change_status, name="claim_change_status"),
    path("claims/<uuid:reference>/correct/", views.claim_correct, name="claim_correct"),
    path("claims/<uuid:reference>/notes/", views.claim_note_add, name="claim_note_add"),
]
