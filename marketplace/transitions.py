"""The application state machine (DESIGN.md §4): the single table of transitions.

Each transition names the states it may start from, the state it ends in, the roles
that may take it and what it needs (a note, a reason code, terms). The services
(``marketplace.services.application_transition``), the portals' buttons, the bank API
and ``docs/applications.md`` all read this table; nothing else changes a status.

Roles are what a person (or a bank's API key) is *to this application*:

- ``sme_owner`` / ``sme_member``: an owner / member of the applicant enterprise. Only an
  owner binds the enterprise (submit, withdraw, accept or decline an offer); any member
  may answer the bank's questions.
- ``bank_reviewer`` / ``bank_admin``: staff of the lender the application is addressed
  to. Reviewers and administrators review; reporting the money (disbursement, repayment,
  arrears) is the administrators' (a separation of duties: who approved a loan does
  not also declare it paid out). A bank's API key acts as its administrators.
- ``operator``: the platform's staff (re-routing an escalated application).
- ``system``: the platform's own jobs (the SLA sweeper escalates, drafts expire).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.models import ApplicationStatus as S

SME_OWNER = "sme_owner"
SME_MEMBER = "sme_member"
BANK_REVIEWER = "bank_reviewer"
BANK_ADMIN = "bank_admin"
OPERATOR = "operator"
SYSTEM = "system"

ROLES: tuple[str, ...] = (
    SME_OWNER,
    SME_MEMBER,
    BANK_REVIEWER,
    BANK_ADMIN,
    OPERATOR,
    SYSTEM,
)
SME_ROLES = frozenset({SME_OWNER, SME_MEMBER})
BANK_ROLES = frozenset({BANK_REVIEWER, BANK_ADMIN})
_SME = frozenset({SME_OWNER})
_BANK = BANK_ROLES
_BANK_ADMIN = frozenset({BANK_ADMIN})

#: What a transition asks for beyond the action itself.
NEEDS_NOTE = "note"  # a note to the other side (required)
NEEDS_REASONS = "reasons"  # at least one reason code (rejection)
NEEDS_OFFER = "offer"  # amount, rate and term within the product's ranges
NEEDS_QUESTION = "question"  # what the bank asks the SME for
NEEDS_ANSWER = "answer"  # the SME's answer (text, files)
NEEDS_DISBURSEMENT = "disbursement"  # amount (≤ approved) and date
NEEDS_REPAYMENT = "repayment"  # repayment date
NEEDS_ARREARS = "arrears"  # days past due

#: Who acts next in each state (whose turn the deadline is), for the status pages.
NEXT_ACTOR: dict[str, str] = {
    S.DRAFT: "sme",
    S.SUBMITTED: "bank",
    S.ACCEPTED: "bank",
    S.UNDER_REVIEW: "bank",
    S.INFO_REQUESTED: "sme",
    S.COUNTER_OFFERED: "sme",
    S.APPROVED: "bank",
    S.DISBURSED: "bank",
    S.OVERDUE: "bank",
    S.ESCALATED: "operator",
}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    label: str | Promise
    needs: frozenset[str] = frozenset()
    #: The webhook event type sent to the bank (``application.<event>``).
    event: str = ""
    #: The Bootstrap variant the portals draw the action's button with.
    button: str = "outline-secondary"

    @property
    def event_type(self) -> str:
        return f"application.{self.event or self.action}"


_PRE_DECISION = frozenset(
    {S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.UNDER_REVIEW, S.INFO_REQUESTED, S.ESCALATED}
)

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition(
            "submit",
            frozenset({S.DRAFT}),
            S.SUBMITTED,
            _SME,
            pgettext_lazy("application action", "Submit"),
            event="submitted",
            button="primary",
        ),
        Transition(
            "accept",
            frozenset({S.SUBMITTED, S.ESCALATED}),
            S.ACCEPTED,
            _BANK,
            pgettext_lazy("application action", "Accept the application"),
            event="accepted",
            button="primary",
        ),
        Transition(
            "start_review",
            frozenset({S.ACCEPTED}),
            S.UNDER_REVIEW,
            _BANK,
            pgettext_lazy("application action", "Start the review"),
            event="review_started",
            button="primary",
        ),
        Transition(
            "request_info",
            frozenset({S.UNDER_REVIEW}),
            S.INFO_REQUESTED,
            _BANK,
            pgettext_lazy("application action", "Request information"),
            needs=frozenset({NEEDS_QUESTION}),
            event="info_requested",
        ),
        Transition(
            "answer_info",
            frozenset({S.INFO_REQUESTED}),
            S.UNDER_REVIEW,
            SME_ROLES,
            pgettext_lazy("application action", "Send the answer"),
            needs=frozenset({NEEDS_ANSWER}),
            event="info_provided",
            button="primary",
        ),
        Transition(
            "approve",
            frozenset({S.UNDER_REVIEW}),
            S.APPROVED,
            _BANK,
            pgettext_lazy("application action", "Approve"),
            needs=frozenset({NEEDS_OFFER}),
            event="approved",
            button="success",
        ),
        Transition(
            "counter_offer",
            frozenset({S.UNDER_REVIEW}),
            S.COUNTER_OFFERED,
            _BANK,
            pgettext_lazy("application action", "Make a counter-offer"),
            needs=frozenset({NEEDS_OFFER}),
            event="counter_offered",
        ),
        Transition(
            "reject",
            frozenset({S.UNDER_REVIEW}),
            S.REJECTED,
            _BANK,
            pgettext_lazy("application action", "Reject"),
            needs=frozenset({NEEDS_REASONS, NEEDS_NOTE}),
            event="rejected",
            button="outline-danger",
        ),
        Transition(
            "accept_offer",
            frozenset({S.COUNTER_OFFERED}),
            S.APPROVED,
            _SME,
            pgettext_lazy("application action", "Accept the offer"),
            event="offer_accepted",
            button="success",
        ),
        Transition(
            "decline_offer",
            frozenset({S.COUNTER_OFFERED}),
            S.DECLINED,
            _SME,
            pgettext_lazy("application action", "Decline the offer"),
            event="offer_declined",
            button="outline-danger",
        ),
        Transition(
            "disburse",
            frozenset({S.APPROVED}),
            S.DISBURSED,
            _BANK_ADMIN,
            pgettext_lazy("application action", "Report the disbursement"),
            needs=frozenset({NEEDS_DISBURSEMENT}),
            event="disbursed",
            button="primary",
        ),
        Transition(
            "report_repaid",
            frozenset({S.DISBURSED, S.OVERDUE}),
            S.REPAID,
            _BANK_ADMIN,
            pgettext_lazy("application action", "Report repaid"),
            needs=frozenset({NEEDS_REPAYMENT}),
            event="repaid",
            button="success",
        ),
        Transition(
            "report_overdue",
            frozenset({S.DISBURSED}),
            S.OVERDUE,
            _BANK_ADMIN,
            pgettext_lazy("application action", "Report overdue"),
            needs=frozenset({NEEDS_ARREARS}),
            event="overdue",
            button="outline-danger",
        ),
        Transition(
            "withdraw",
            _PRE_DECISION,
            S.WITHDRAWN,
            _SME,
            pgettext_lazy("application action", "Withdraw the application"),
            event="withdrawn",
            button="outline-danger",
        ),
        Transition(
            "escalate",
            frozenset({S.SUBMITTED, S.ACCEPTED}),
            S.ESCALATED,
            frozenset({SYSTEM}),
            pgettext_lazy("application action", "Escalate (response overdue)"),
            event="escalated",
        ),
        Transition(
            "reroute",
            frozenset({S.ESCALATED}),
            S.SUBMITTED,
            frozenset({OPERATOR}),
            pgettext_lazy("application action", "Send back to the bank"),
            needs=frozenset({NEEDS_NOTE}),
            event="rerouted",
        ),
        Transition(
            "expire",
            frozenset({S.DRAFT}),
            S.EXPIRED,
            frozenset({SYSTEM}),
            pgettext_lazy("application action", "Expire the unsent draft"),
            event="expired",
        ),
    )
}

#: Actions that are a decision on the application (they set ``decided_at``).
DECISIONS = frozenset({"approve", "counter_offer", "reject"})
#: Actions a bank takes, for the bank's pages and API.
BANK_ACTIONS: tuple[str, ...] = tuple(
    action for action, t in TRANSITIONS.items() if t.roles & BANK_ROLES
)
#: Actions an SME takes in the portal.
SME_ACTIONS: tuple[str, ...] = tuple(
    action for action, t in TRANSITIONS.items() if t.roles & SME_ROLES
)


def allowed_transitions(
    status: str, roles: frozenset[str] | set[str]
) -> list[Transition]:
    """The transitions someone with ``roles`` may take from ``status``, in table order."""
    return [t for t in TRANSITIONS.values() if status in t.sources and t.roles & roles]


def transition_for(action: str) -> Transition | None:
    return TRANSITIONS.get(action)


def describe() -> list[dict[str, object]]:
    """The table as plain data (for docs and the API's description)."""
    return [
        {
            "action": t.action,
            "from": sorted(str(s) for s in t.sources),
            "to": str(t.target),
            "roles": sorted(t.roles),
            "needs": sorted(t.needs),
            "event": t.event_type,
        }
        for t in TRANSITIONS.values()
    ]


#: Human labels of the roles (the history and docs say who acted).
ROLE_LABELS: dict[str, str | Promise] = {
    SME_OWNER: _("Enterprise owner"),
    SME_MEMBER: _("Enterprise member"),
    BANK_REVIEWER: _("Bank reviewer"),
    BANK_ADMIN: _("Bank administrator"),
    OPERATOR: _("Platform operator"),
    SYSTEM: _("The platform (automatic)"),
}
