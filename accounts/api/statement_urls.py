"""Statements API routes, included under ``/api/v1/`` in the ``api`` namespace."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import statements

# Path converters, not regexes: lookups are "<uuid:reference>", so the schema types them as UUIDs.
router = SimpleRouter(use_regex_path=False)
router.register("documents", statements.DocumentViewSet, basename="document")

urlpatterns = [
    path(
        "accounts/<uuid:reference>/statements/",
        statements.AccountStatementViewSet.as_view({"get": "list", "post": "create"}),
        name="account-statements",
    ),
    *router.urls,
]
