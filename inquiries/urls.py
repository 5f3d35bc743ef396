"""Pages of the inquiries app."""

from django.urls import path

from inquiries import (
    views_benefits,
    views_cases,
    views_email,
    views_qa,
    views_routing,
    views_scripts,
    views_settings,
)

app_name = "inquiries"

urlpatterns = [
    # Cases
    path("cases/", views_cases.case_list, name="case_list"),
    path("cases/new/", views_cases.case_create, name="case_create"),
    path("cases/<uuid:reference>/", views_cases.case_detail, name="case_detail"),
    path("cases/<uuid:reference>/verify/", views_cases.case_verify, name="case_verify"),
    path("cases/<uuid:reference>/override/", views_cases.case_override, name="case_override"),
    path("cases/<uuid:reference>/contacts/", views_cases.interaction_add, name="interaction_add"),
    path("cases/<uuid:reference>/take/", views_cases.case_start, name="case_start"),
    path("cases/<uuid:reference>/pend/", views_cases.case_pend, name="case_pend"),
    path("cases/<uuid:reference>/resolve/", views_cases.case_resolve, name="case_resolve"),
    path("cases/<uuid:reference>/close/", views_cases.case_close, name="case_close"),
    path("cases/<uuid:reference>/reopen/", views_cases.case_reopen, name="case_reopen"),
    path("cases/<uuid:reference>/escalate/", views_cases.case_escalate, name="case_escalate"),
    path("cases/<uuid:reference>/transfer/", views_cases.case_transfer, name="case_transfer"),
    path("cases/<uuid:reference>/refer/", views_cases.case_refer, name="case_refer"),
    path("cases/<uuid:reference>/edit/", views_cases.case_edit, name="case_edit"),
    path("cases/<uuid:reference>/link/", views_cases.case_link, name="case_link"),
    path("cases/<uuid:reference>/callbacks/", views_cases.callback_add, name="callback_add"),
    path("cases/<uuid:reference>/email/", views_email.case_email, name="case_email"),
    path("callbacks/<uuid:reference>/cancel/", views_cases.callback_cancel, name="callback_cancel"),
    path("contacts/<uuid:reference>/", views_cases.interaction_detail, name="interaction_detail"),
    # Benefit investigations
    path("cases/<uuid:reference>/benefits/new/", views_benefits.benefit_create, name="benefit_create"),
    path("benefits/<uuid:reference>/", views_benefits.benefit_detail, name="benefit_detail"),
    path("benefits/<uuid:reference>/send/", views_benefits.benefit_send, name="benefit_send"),
    path(
        "benefits/templates/install/",
        views_benefits.benefit_templates_install,
        name="benefit_templates_install",
    ),
    path("case-documents/<uuid:reference>/", views_benefits.document_pdf, name="document_pdf"),
    # Routing
    path("departments/", views_routing.department_list, name="department_list"),
    path("departments/<uuid:reference>/", views_routing.department_edit, name="department_edit"),
    path("referrals/", views_routing.referral_list, name="referral_list"),
    path(
        "referrals/<uuid:reference>/acknowledge/",
        views_routing.referral_acknowledge,
        name="referral_acknowledge",
    ),
    path("referrals/<uuid:reference>/close/", views_routing.referral_close, name="referral_close"),
    # Scripts and settings
    path("scripts/", views_scripts.script_list, name="script_list"),
    path("scripts/<uuid:reference>/", views_scripts.script_detail, name="script_detail"),
    path("case-settings/", views_settings.case_settings, name="case_settings"),
    path(
        "case-settings/service-levels/<uuid:reference>/remove/",
        views_settings.service_level_remove,
        name="service_level_remove",
    ),
    # Quality reviews
    path("qa/", views_qa.qa_home, name="qa_home"),
    path("qa/contacts/<uuid:reference>/review/", views_qa.qa_review_create, name="qa_review_create"),
    path("qa/reviews/<uuid:reference>/", views_qa.qa_review_detail, name="qa_review_detail"),
    path("qa/scorecards/", views_qa.scorecard_list, name="scorecard_list"),
    # Email intake from a mail provider (signed webhook, no session)
    path("inquiries/email/inbound/<slug:slug>/", views_email.email_inbound, name="email_inbound"),
]
