"""Claims API routes: claims (``api:claim-list``, ``api:claim-submit``…) and 837 intake
(``api:claim-import-837``)."""

from rest_framework.routers import SimpleRouter

from claims.api import claims

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("claims", claims.ClaimViewSet, basename="claim")
router.register("claim-imports", claims.ClaimImportViewSet, basename="claim-import")

urlpatterns = router.urls
