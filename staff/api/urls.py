from django.urls import path
from rest_framework.routers import SimpleRouter

from staff.api import views

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("memberships", views.MembershipViewSet, basename="membership")
router.register("teams", views.TeamViewSet, basename="team")
router.register("approval-limits", views.ApprovalLimitViewSet, basename="approval-limit")
router.register("phi-access-log", views.PhiAccessLogViewSet, basename="phi-access-log")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    *router.urls,
]
