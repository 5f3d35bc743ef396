"""Case work: cases and their contacts, caller verification and disclosure, routing, scripts,
benefit investigations and quality reviews.

- ``cases``: cases, interactions, callbacks, case emails, service levels;
- ``disclosure``: the verification policy, verifications and disclosure overrides;
- ``routing``: the department directory and referrals to appeals & grievances;
- ``scripts``: scripts, their versions and steps;
- ``benefits``: benefit investigations and patient estimates;
- ``qa``: scorecards and reviews.
"""

from inquiries.models.benefits import BenefitEstimate, BenefitInvestigation, EstimateLine
from inquiries.models.cases import (
    OPEN_STATUSES,
    Callback,
    CallerType,
    Case,
    CaseEmail,
    CaseStatus,
    Category,
    Channel,
    Direction,
    Interaction,
    InterpreterKind,
    Outcome,
    Priority,
    Relationship,
    ServiceLevel,
)
from inquiries.models.disclosure import (
    CallerKind,
    DisclosureOverride,
    Identifier,
    Scope,
    Verification,
    VerificationPolicy,
)
from inquiries.models.qa import Mark, QAReview, QAScore, Scorecard, ScorecardCriterion
from inquiries.models.routing import Department, DepartmentKind, Referral
from inquiries.models.scripts import Script, ScriptStep, ScriptVersion

__all__ = [
    "OPEN_STATUSES",
    "BenefitEstimate",
    "BenefitInvestigation",
    "Callback",
    "CallerKind",
    "CallerType",
    "Case",
    "CaseEmail",
    "CaseStatus",
    "Category",
    "Channel",
    "Department",
    "DepartmentKind",
    "Direction",
    "DisclosureOverride",
    "EstimateLine",
    "Identifier",
    "Interaction",
    "InterpreterKind",
    "Mark",
    "Outcome",
    "Priority",
    "QAReview",
    "QAScore",
    "Referral",
    "Relationship",
    "Scope",
    "Scorecard",
    "ScorecardCriterion",
    "Script",
    "ScriptStep",
    "ScriptVersion",
    "ServiceLevel",
    "Verification",
    "VerificationPolicy",
]
