from django.urls import path

from staff import views, views_settings

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("organization/switch/", views.organization_switch, name="organization_switch"),
    path("settings/members/", views_settings.members, name="members"),
    path("settings/approval-limits/", views_settings.approval_limits, name="approval_limits"),
    path("settings/organization/", views_settings.organization_settings, name="organization_settings"),
    path("settings/access-log/", views_settings.access_log, name="access_log"),
    path("history/<str:app_label>/<str:model>/<uuid:reference>/", views.object_history, name="object_history"),
]
