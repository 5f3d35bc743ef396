"""Pages of the claims app; each area keeps its own URL module."""

from django.urls import include, path

app_name = "claims"

urlpatterns = [
    path("", include("claims.urls_claims")),
    path("", include("claims.urls_remittances")),
    path("", include("claims.urls_reconciliation")),
]
