"""CSV imports under ``/api/v1/imports/<kind>/`` (``api:import-patients``, ``api:import-charges``…)."""

from rest_framework.routers import SimpleRouter

from accounts.api.imports import ImportViewSet

router = SimpleRouter(use_regex_path=False)
router.register("imports", ImportViewSet, basename="import")

urlpatterns = router.urls
