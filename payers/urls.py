from django.urls import path

from payers import views, views_notices

app_name = "payers"

urlpatterns = [
    # Payers: everyone reads, admins change. One URL per action.
    path("payers/", views.payer_list, name="payer_list"),
    path("payers/new/", views.payer_create, name="payer_create"),
    path("payers/<uuid:reference>/", views.payer_detail, name="payer_detail"),
    path("payers/<uuid:reference>/edit/", views.payer_edit, name="payer_edit"),
    path("payers/<uuid:reference>/deactivate/", views.payer_deactivate, name="payer_deactivate"),
    path("payers/<uuid:reference>/reactivate/", views.payer_reactivate, name="payer_reactivate"),
    # Plans.
    path("payers/<uuid:reference>/plans/new/", views.plan_create, name="plan_create"),
    path("payers/plans/<uuid:reference>/edit/", views.plan_edit, name="plan_edit"),
    path("payers/plans/<uuid:reference>/deactivate/", views.plan_deactivate, name="plan_deactivate"),
    path("payers/plans/<uuid:reference>/reactivate/", views.plan_reactivate, name="plan_reactivate"),
    # Payer rules and their appeal levels.
    path("payers/<uuid:reference>/rules/new/", views.rule_create, name="rule_create"),
    path("payers/rules/<uuid:reference>/edit/", views.rule_edit, name="rule_edit"),
    path("payers/rules/<uuid:reference>/levels/add/", views.appeal_level_add, name="appeal_level_add"),
    path("payers/appeal-levels/<uuid:reference>/edit/", views.appeal_level_edit, name="appeal_level_edit"),
    path(
        "payers/appeal-levels/<uuid:reference>/remove/", views.appeal_level_remove, name="appeal_level_remove"
    ),
    # Contracts and fee schedules.
    path("payers/<uuid:reference>/contracts/new/", views.contract_create, name="contract_create"),
    path("payers/contracts/<uuid:reference>/", views.contract_detail, name="contract_detail"),
    path("payers/contracts/<uuid:reference>/edit/", views.contract_edit, name="contract_edit"),
    path("payers/contracts/<uuid:reference>/prices/add/", views.fee_entry_create, name="fee_entry_create"),
    path("payers/contracts/<uuid:reference>/import/", views.fee_schedule_import, name="fee_schedule_import"),
    path(
        "payers/contracts/<uuid:reference>/fee-schedule.csv",
        views.fee_schedule_export,
        name="fee_schedule_export",
    ),
    path("payers/fee-schedule-template.csv", views.fee_schedule_template, name="fee_schedule_template"),
    path("payers/prices/<uuid:reference>/edit/", views.fee_entry_edit, name="fee_entry_edit"),
    # Payer notices.
    path("payers/notices/", views_notices.notice_list, name="notice_list"),
    path("payers/notices/new/", views_notices.notice_create, name="notice_create"),
    path("payers/notices/report/", views_notices.notice_report, name="notice_report"),
    path("payers/notices/<uuid:reference>/", views_notices.notice_detail, name="notice_detail"),
    path("payers/notices/<uuid:reference>/edit/", views_notices.notice_edit, name="notice_edit"),
    path("payers/notices/<uuid:reference>/withdraw/", views_notices.notice_withdraw, name="notice_withdraw"),
    path(
        "payers/notices/<uuid:reference>/acknowledge/",
        views_notices.notice_acknowledge,
        name="notice_acknowledge",
    ),
]
