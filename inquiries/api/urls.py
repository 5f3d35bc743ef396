"""REST routes of the inquiries app."""

from rest_framework.routers import SimpleRouter

from inquiries.api import views

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("cases", views.CaseViewSet, basename="case")
router.register("interactions", views.InteractionViewSet, basename="interaction")
router.register("verifications", views.VerificationViewSet, basename="verification")
router.register("benefit-investigations", views.BenefitInvestigationViewSet, basename="benefit-investigation")

urlpatterns = router.urls
