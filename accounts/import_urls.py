"""CSV import pages, spliced into the ``accounts`` URL namespace."""

from django.urls import path

from accounts import views_imports

urlpatterns: list = [
    path("imports/", views_imports.import_upload, name="import_upload"),
    path("imports/templates/<slug:kind>.csv", views_imports.import_template, name="import_template"),
]
