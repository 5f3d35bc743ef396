from django.urls import path

from staff import views, views_settings

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("organization/switch/", views.organization_switch, name="organization_switch"),
    # Members and roles: one URL per action.
    path("settings/members/", views_settings.members, name="members"),
    path("settings/members/add/", views_settings.member_add, name="member_add"),
    path(
        "settings/members/<uuid:reference>/role/",
        views_settings.member_change_role,
        name="member_change_role",
    ),
    path(
        "settings/members/<uuid:reference>/team/",
        views_settings.member_assign_team,
        name="member_assign_team",
    ),
    path(
        "settings/members/<uuid:reference>/deactivate/",
        views_settings.member_deactivate,
        name="member_deactivate",
    ),
    path(
        "settings/members/<uuid:reference>/reactivate/",
        views_settings.member_reactivate,
        name="member_reactivate",
    ),
    path("settings/teams/add/", views_settings.team_create, name="team_create"),
    # Approval limits.
    path("settings/approval-limits/", views_settings.approval_limits, name="approval_limits"),
    path("settings/approval-limits/set/", views_settings.approval_limit_set, name="approval_limit_set"),
    # Organization settings and closure days.
    path("settings/organization/", views_settings.organization_settings, name="organization_settings"),
    path("settings/organization/update/", views_settings.organization_update, name="organization_update"),
    path("settings/organization/closures/add/", views_settings.closure_add, name="closure_add"),
    path(
        "settings/organization/closures/<uuid:reference>/remove/",
        views_settings.closure_remove,
        name="closure_remove",
    ),
    # PHI access log.
    path("settings/access-log/", views_settings.access_log, name="access_log"),
    path("settings/access-log/export.csv", views_settings.access_log_export, name="access_log_export"),
    path(
        "history/<str:app_label>/<str:model>/<uuid:reference>/", views.object_history, name="object_history"
    ),
]
