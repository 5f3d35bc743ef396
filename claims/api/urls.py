"""REST routes of the claims app; each area keeps its own module."""

from django.urls import include, path

urlpatterns = [
    path("", include("claims.api.urls_claims")),
    path("", include("claims.api.urls_remittances")),
    path("", include("claims.api.urls_reconciliation")),
]
