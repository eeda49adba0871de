"""Who is told of an application event, and what they are told.

The people who must act next get an inbox item and an email: the bank's reviewers and
administrators when the SME acted (or the office sent the application back), the
enterprise's members when the bank (or the platform) acted; the platform's operators
too when an application is escalated. The sentence is rendered from the event in the
reader's language when it is shown (``event_sentence``), never stored.
"""

from __future__ import annotations

import contextlib

from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import Membership, OrganizationKind, Role
from marketplace import transitions
from marketplace.models import Application, ApplicationEvent

#: Events the bank's staff must hear of (the rest are the SME's).
_TO_BANK = frozenset(
    {
        "submit",
        "answer_info",
        "accept_offer",
        "decline_offer",
        "withdraw",
        "escalate",
        "reroute",
    }
)
_TO_OPERATORS = frozenset({"escalate"})
_BANK_ROLES = (Role.ADMIN, Role.REVIEWER)


def recipients_for(*, application: Application, event: ApplicationEvent) -> list[int]:
    """The users (primary keys) to notify of ``event``; never the one who acted."""
    who = Q()
    if event.action in _TO_BANK:
        who |= Q(
            organization_id=application.lender.organization_id, role__in=_BANK_ROLES
        )
    else:
        who |= Q(organization_id=application.enterprise.organization_id)
    if event.action in _TO_OPERATORS:
        who |= Q(organization__kind=OrganizationKind.PLATFORM)
    members = Membership.objects.filter(
        who, organization__is_active=True, user__is_active=True
    )
    if event.actor_id is not None:
        members = members.exclude(user_id=event.actor_id)
    users = members.values_list("user_id", flat=True).distinct()
    return sorted(set(users))


def event_sentence(event: ApplicationEvent, *, language: str | None = None) -> str:
    """One sentence about the event, in ``language`` (default: the active one)."""
    with translation.override(language) if language else contextlib.nullcontext():
        application = event.application
        values = {
            "reference": application.reference,
            "bank": application.lender.organization.display_name,
            "enterprise": application.enterprise.name,
            "product": application.product.display_name,
        }
        sentences = {
            "submit": _("%(enterprise)s applied for %(product)s (%(reference)s)."),
            "accept": _("%(bank)s accepted your application %(reference)s."),
            "start_review": _("%(bank)s started reviewing %(reference)s."),
            "request_info": _(
                "%(bank)s needs more information for %(reference)s: please answer."
            ),
            "answer_info": _("%(enterprise)s answered your question on %(reference)s."),
            "approve": _("%(bank)s approved your application %(reference)s."),
            "counter_offer": _(
                "%(bank)s made a counter-offer on %(reference)s: accept or decline it."
            ),
            "reject": _("%(bank)s rejected your application %(reference)s."),
            "accept_offer": _("%(enterprise)s accepted your offer on %(reference)s."),
            "decline_offer": _("%(enterprise)s declined your offer on %(reference)s."),
            "disburse": _("%(bank)s paid out the loan of %(reference)s."),
            "report_repaid": _("%(bank)s reports the loan of %(reference)s repaid."),
            "report_overdue": _("%(bank)s reports the loan of %(reference)s overdue."),
            "withdraw": _("%(enterprise)s withdrew the application %(reference)s."),
            "escalate": _(
                "The response to %(reference)s is overdue; the credit office was told."
            ),
            "reroute": _("The credit office sent %(reference)s back to %(bank)s."),
            "expire": _("The unsent draft %(reference)s expired."),
        }
        template = sentences.get(event.action)
        if template is None:
            label = transitions.TRANSITIONS[event.action].label
            return f"{application.reference}: {label}"
        return template % values
