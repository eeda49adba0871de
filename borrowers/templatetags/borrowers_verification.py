"""The enterprise's real-name verification status, for any page that shows the
enterprise (the portal is rendered by accounts, which may not import borrowers: a
template tag reads it instead)."""

from __future__ import annotations

from django import template

from accounts.models import Organization
from borrowers import selectors
from borrowers.models import Enterprise

register = template.Library()


@register.inclusion_tag("borrowers/_verification_status.html")
def verification_status(
    subject: Enterprise | Organization | None, show_link: bool = True
) -> dict:
    """A banner: verified (how and when), letter under review, rejected (with the
    reason), or not verified with the link to the verification page."""
    enterprise = subject
    if isinstance(subject, Organization):
        enterprise = selectors.enterprise_for_organization(organization=subject)
    if not isinstance(enterprise, Enterprise):
        return {"enterprise": None}
    overview = selectors.verification_overview(enterprise=enterprise)
    return {"enterprise": enterprise, "show_link": show_link, **overview}
