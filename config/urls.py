from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views as core_views

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"

urlpatterns = [
    path("health/", core_views.health, name="health"),
    path("accounts/", include("staff.auth_urls")),
    path("", include("staff.urls")),
    path("", include("accounts.urls")),
    path("", include("payers.urls")),
    path("", include("correspondence.urls")),
    path("", include("claims.urls")),
    path("", include("worklists.urls")),
    path("", include("inquiries.urls")),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
]
