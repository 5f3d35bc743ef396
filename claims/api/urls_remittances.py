"""Claims API routes: remittance files, claim payments, posting exceptions, denials, variances."""

from rest_framework.routers import SimpleRouter

from claims.api import remittances

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("remittances", remittances.RemittanceFileViewSet, basename="remittance")
router.register("claim-payments", remittances.ClaimPaymentViewSet, basename="claim-payment")
router.register("posting-exceptions", remittances.PostingExceptionViewSet, basename="posting-exception")
router.register("denials", remittances.DenialViewSet, basename="denial")
router.register("variances", remittances.VarianceViewSet, basename="variance")

urlpatterns = router.urls
