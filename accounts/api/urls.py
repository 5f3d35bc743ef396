from rest_framework.routers import SimpleRouter

from accounts.api import views

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("patients", views.PatientViewSet, basename="patient")
router.register("coverages", views.CoverageViewSet, basename="coverage")
router.register("authorized-contacts", views.AuthorizedContactViewSet, basename="authorized-contact")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("charges", views.ChargeViewSet, basename="charge")
router.register("ledger-entries", views.LedgerEntryViewSet, basename="ledger-entry")
router.register("adjustment-requests", views.AdjustmentRequestViewSet, basename="adjustment-request")

urlpatterns = router.urls
