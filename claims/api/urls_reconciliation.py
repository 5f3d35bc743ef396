"""Claims API routes: deposits (``api:deposit-list``, ``api:deposit-match``…), the daily
reconciliation report (``api:reconciliation-list``), insurance audits
(``api:insurance-audit-change-status``…) and the official code texts (``api:code-description-list``)."""

from rest_framework.routers import SimpleRouter

from claims.api import reconciliation

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("deposits", reconciliation.DepositViewSet, basename="deposit")
router.register("reconciliation", reconciliation.ReconciliationViewSet, basename="reconciliation")
router.register("insurance-audits", reconciliation.InsuranceAuditViewSet, basename="insurance-audit")
router.register("code-descriptions", reconciliation.CodeDescriptionViewSet, basename="code-description")

urlpatterns = router.urls
