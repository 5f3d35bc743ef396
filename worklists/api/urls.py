"""REST routes of the worklists app."""

from rest_framework.routers import SimpleRouter

from worklists.api import views

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("work-items", views.WorkItemViewSet, basename="work-item")
router.register("queues", views.QueueViewSet, basename="queue")

urlpatterns = router.urls
