"""Version 1 of the REST API, mounted at ``/api/v1/``. Each app's ``api/urls.py`` adds its routes.

URL names live in the ``api`` namespace: ``reverse("api:membership-change-role", args=[ref])``.
"""

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("", include("staff.api.urls")),
    path("", include("payers.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("accounts.api.statement_urls")),
    path("", include("accounts.api.import_urls")),
    path("", include("claims.api.urls")),
    path("", include("worklists.api.urls")),
    path("", include("inquiries.api.urls")),
]
