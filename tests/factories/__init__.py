from tests.factories.accounts import (
    AccountFactory,
    AuthorizedContactFactory,
    CoverageFactory,
    GuarantorFactory,
    PatientFactory,
)
from tests.factories.payers import (
    ContractFactory,
    FeeScheduleEntryFactory,
    PayerFactory,
    PayerRuleFactory,
    PlanFactory,
)
from tests.factories.staff import (
    ApprovalLimitFactory,
    MembershipFactory,
    OrganizationFactory,
    TeamFactory,
    UserFactory,
)

__all__ = [
    "AccountFactory",
    "ApprovalLimitFactory",
    "AuthorizedContactFactory",
    "ContractFactory",
    "CoverageFactory",
    "FeeScheduleEntryFactory",
    "GuarantorFactory",
    "MembershipFactory",
    "OrganizationFactory",
    "PatientFactory",
    "PayerFactory",
    "PayerRuleFactory",
    "PlanFactory",
    "TeamFactory",
    "UserFactory",
]
