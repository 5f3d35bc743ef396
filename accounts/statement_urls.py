"""Statements and stored documents; spliced into the ``accounts`` namespace by ``accounts/urls.py``."""

from django.urls import path

from accounts import views_statements

urlpatterns: list = [
    path(
        "accounts/<uuid:reference>/statements/",
        views_statements.statement_generate,
        name="statement_generate",
    ),
    path("documents/<uuid:reference>/pdf/", views_statements.document_download, name="document_download"),
]
