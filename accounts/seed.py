"""Demo organizations and one user per role (see ``manage.py seed_demo``)."""

from __future__ import annotations

from allauth.account.models import EmailAddress

from accounts import services
from accounts.models import Membership, Organization, OrganizationKind, Role, User

DEMO_PASSWORD = "Xinyidai-demo-2026"  # noqa: S105 - printed for the local demo only

DEMO_ORGANIZATIONS = {
    OrganizationKind.PLATFORM: "信易贷平台运营中心",
    OrganizationKind.PROMOTION_OFFICE: "深圳市社会信用体系建设促进办公室",
    OrganizationKind.LENDER: "深圳示范商业银行",
    OrganizationKind.ENTERPRISE: "深圳市鹏城智造科技有限公司",
}
#: Their English names, shown on /en/ pages (the enterprise's is its own business).
DEMO_ORGANIZATION_NAMES_EN = {
    OrganizationKind.PLATFORM: "Xinyidai Platform Operations Centre",
    OrganizationKind.PROMOTION_OFFICE: "Shenzhen Social Credit System Promotion Office",
    OrganizationKind.LENDER: "Shenzhen Demonstration Commercial Bank",
}

DEMO_USERS = [
    ("operator@xinyidai.local", OrganizationKind.PLATFORM, Role.OPERATOR),
    ("editor@xinyidai.local", OrganizationKind.PROMOTION_OFFICE, Role.EDITOR),
    (
        "office-reviewer@xinyidai.local",
        OrganizationKind.PROMOTION_OFFICE,
        Role.REVIEWER,
    ),
    ("bank-admin@xinyidai.local", OrganizationKind.LENDER, Role.ADMIN),
    ("bank-reviewer@xinyidai.local", OrganizationKind.LENDER, Role.REVIEWER),
    ("owner@xinyidai.local", OrganizationKind.ENTERPRISE, Role.OWNER),
    ("member@xinyidai.local", OrganizationKind.ENTERPRISE, Role.MEMBER),
]


def _ensure_user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def seed(**options) -> list[str]:
    organizations = {}
    for kind, name in DEMO_ORGANIZATIONS.items():
        name_en = DEMO_ORGANIZATION_NAMES_EN.get(kind, "")
        organization = Organization.objects.filter(kind=kind, name=name).first()
        if organization is None:
            organization = services.organization_create(
                kind=kind, name=name, name_en=name_en
            )
        elif name_en and not organization.name_en:
            # The platform exists from a migration; earlier seeds had no English.
            organization = services.organization_name_en_set(
                organization=organization, name_en=name_en
            )
        organizations[kind] = organization
    lines = ["", f"Demo logins (password for all: {DEMO_PASSWORD})"]
    for email, kind, role in DEMO_USERS:
        user = _ensure_user(email)
        if not Membership.objects.filter(
            user=user, organization=organizations[kind]
        ).exists():
            services.membership_create(
                user=user, organization=organizations[kind], role=role
            )
        mfa = (
            "  (sets up TOTP at first login)"
            if kind != OrganizationKind.ENTERPRISE
            else ""
        )
        lines.append(f"  {email:<34} {kind.label} / {role.label}{mfa}")
    return lines
