from rest_framework.routers import SimpleRouter

from payers.api import views

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("payers", views.PayerViewSet, basename="payer")
router.register("plans", views.PlanViewSet, basename="plan")
router.register("payer-rules", views.PayerRuleViewSet, basename="payer-rule")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("fee-schedule-entries", views.FeeScheduleEntryViewSet, basename="fee-schedule-entry")
router.register("payer-notices", views.PayerNoticeViewSet, basename="payer-notice")

urlpatterns = router.urls
