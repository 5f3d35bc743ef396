from tests.factories.staff import (
    ApprovalLimitFactory,
    MembershipFactory,
    OrganizationFactory,
    TeamFactory,
    UserFactory,
)

__all__ = ["ApprovalLimitFactory", "MembershipFactory", "OrganizationFactory", "TeamFactory", "UserFactory"]
