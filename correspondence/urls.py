from django.urls import path

from correspondence import views

app_name = "correspondence"

urlpatterns = [
    path("settings/templates/", views.template_list, name="template_list"),
    path("settings/templates/new/", views.template_new, name="template_new"),
    path("settings/templates/create/", views.template_create, name="template_create"),
    path("settings/templates/defaults/", views.templates_add_defaults, name="templates_add_defaults"),
    path("settings/templates/preview/", views.template_preview, name="template_preview"),
    path("settings/templates/<uuid:reference>/", views.template_detail, name="template_detail"),
    path("settings/templates/<uuid:reference>/update/", views.template_update, name="template_update"),
    path(
        "settings/templates/<uuid:reference>/preview.pdf",
        views.template_preview_saved,
        name="template_preview_saved",
    ),
    path("settings/letterhead/update/", views.letterhead_update, name="letterhead_update"),
]
