"""factory_boy factories, one module per app."""

from tests.factories.accounts import (
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    activate_totp,
    totp_code,
)

__all__ = [
    "MembershipFactory",
    "OrganizationFactory",
    "UserFactory",
    "activate_totp",
    "totp_code",
]
