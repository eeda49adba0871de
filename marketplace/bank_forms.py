"""The bank's forms on applications: the queue's filters and one form per kind of
action.

An action's form is chosen by what its transition needs (``transitions.NEEDS_*``),
never by the action's name or the application's state: the transition table decides
which buttons a page draws, and these forms only parse what each button sends. The
forms check types and presence; the rules (the product's ranges, at least one reason,
no more than the amount approved) are the services', whose errors the views put back
on the form's fields. Every action form carries the version of the application the
page was rendered with, so an officer acting on a stale page is refused instead of
overwriting a colleague's decision.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.codes import DISTRICTS
from core.templatetags.formatting import format_money
from marketplace import transitions
from marketplace.models import Application, ApplicationStatus, RejectionReason

#: Statuses the queue filters by (a draft never reaches the bank).
QUEUE_STATUSES = [
    (value, label)
    for value, label in ApplicationStatus.choices
    if value != ApplicationStatus.DRAFT
]


class QueueFilterForm(forms.Form):
    """The queue's filters, always bound to the query string (empty = no filter)."""

    status = forms.ChoiceField(label=_("Status"), required=False)
    product = forms.TypedChoiceField(
        label=_("Loan product"), required=False, coerce=int, empty_value=None
    )
    district = forms.ChoiceField(label=_("District"), required=False)
    amount_min = forms.DecimalField(
        label=_("Amount from (CNY)"), required=False, min_value=Decimal("0")
    )
    amount_max = forms.DecimalField(
        label=_("Amount up to (CNY)"), required=False, min_value=Decimal("0")
    )

    def __init__(
        self,
        *args: Any,
        products: list[tuple[int, str]],
        districts: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        everything = ("", _("All"))
        choices: dict[str, list[tuple[Any, Any]]] = {
            "status": [everything, *QUEUE_STATUSES],
            "product": [everything, *products],
            "district": [
                everything,
                *((code, DISTRICTS[code]) for code in districts),
            ],
        }
        for name, field_choices in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = field_choices
        # ``form_fields.html`` adds Bootstrap's control classes; these make them small.
        for name in ("status", "product", "district"):
            self.fields[name].widget.attrs["class"] = "form-select-sm"
        for name in ("amount_min", "amount_max"):
            self.fields[name].widget.attrs.update(
                {"class": "form-control-sm", "inputmode": "decimal"}
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "amount_max", _("The upper amount must not be below the lower one.")
            )
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The valid filters as ``selectors.bank_queue`` takes them."""
        data = self.cleaned_data
        return {
            "status": data.get("status") or None,
            "product_pk": data.get("product"),
            "district": data.get("district") or None,
            "amount_min": data.get("amount_min"),
            "amount_max": data.get("amount_max"),
        }


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ActionForm(forms.Form):
    """An action with nothing to fill in but an optional note (accept, start the
    review): also the base of every other action's form."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    #: The form's fields the service takes, besides ``expected_version``.
    payload_fields: ClassVar[tuple[str, ...]] = ("note",)
    #: Drawn open: it carries what the officer typed into a refused attempt.
    expanded = False

    def __init__(
        self,
        data: Any = None,
        *,
        application: Application,
        transition: transitions.Transition,
        **kwargs: Any,
    ) -> None:
        self.application = application
        self.transition = transition
        initial = {"expected_version": application.version, **self.initial_for()}
        initial.update(kwargs.pop("initial", None) or {})
        super().__init__(
            data, initial=initial, auto_id=f"id_{transition.action}_%s", **kwargs
        )

    def initial_for(self) -> dict[str, Any]:
        """What the form starts with for ``self.application``."""
        return {}

    def payload(self) -> dict[str, Any]:
        """The service's arguments from the valid form."""
        data = self.cleaned_data
        return {
            "expected_version": data["expected_version"],
            **{name: data.get(name) for name in self.payload_fields},
        }


class QuestionForm(ActionForm):
    """Request information: what the bank needs from the SME (the clock pauses)."""

    note = None  # type: ignore[assignment]
    question = forms.CharField(
        label=_("What do you need from the applicant?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    payload_fields = ("question",)


class OfferForm(ActionForm):
    """Approve or counter-offer: amount, annual rate and term, started from what the
    SME asked for (and the product's lowest rate); the service checks each against
    the product's ranges."""

    amount = forms.DecimalField(label=_("Amount (CNY)"))
    rate = forms.DecimalField(label=_("Annual rate (%)"))
    term = forms.IntegerField(label=_("Term (months)"))
    note = forms.CharField(
        label=_("Note to the applicant (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    payload_fields = ("amount", "rate", "term", "note")
    field_order = ["amount", "rate", "term", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product = self.application.product
        self.fields["amount"].help_text = _("Product range: %(low)s – %(high)s") % {
            "low": format_money(product.amount_min),
            "high": format_money(product.amount_max),
        }
        self.fields["rate"].help_text = _("Product range: %(low)s – %(high)s") % {
            "low": f"{product.rate_min:.2f}%",
            "high": f"{product.rate_max:.2f}%",
        }
        self.fields["term"].help_text = _("Product range: %(low)s – %(high)s") % {
            "low": product.term_min,
            "high": product.term_max,
        }
        self.fields["amount"].widget.attrs["inputmode"] = "decimal"
        self.fields["rate"].widget.attrs["inputmode"] = "decimal"

    def initial_for(self) -> dict[str, Any]:
        application = self.application
        return {
            "amount": application.offered_amount or application.requested_amount,
            "rate": application.offered_rate or application.product.rate_min,
            "term": application.offered_term or application.requested_term,
        }


class RejectForm(ActionForm):
    """Reject: at least one reason from the fixed list and a note, both required by
    the service (which says so in the applicant's terms)."""

    reasons = forms.MultipleChoiceField(
        label=_("Reasons for the decision"),
        choices=RejectionReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("Note to the applicant"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    payload_fields = ("reasons", "note")
    field_order = ["reasons", "note"]


class DisburseForm(ActionForm):
    """Report the disbursement: the amount paid out (at most the amount approved)
    and the date."""

    amount = forms.DecimalField(label=_("Amount disbursed (CNY)"))
    disbursed_on = forms.DateField(label=_("Disbursed on"), widget=_date_widget())
    payload_fields = ("amount", "disbursed_on", "note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        approved = self.application.offered_amount
        if approved is not None:
            self.fields["amount"].help_text = _("At most the %(amount)s approved.") % {
                "amount": format_money(approved)
            }
        self.fields["amount"].widget.attrs["inputmode"] = "decimal"

    def initial_for(self) -> dict[str, Any]:
        return {
            "amount": self.application.offered_amount,
            "disbursed_on": timezone.localdate(),
        }


class RepaidForm(ActionForm):
    """Report the loan repaid, with the date."""

    repaid_on = forms.DateField(label=_("Repaid on"), widget=_date_widget())
    payload_fields = ("repaid_on", "note")

    def initial_for(self) -> dict[str, Any]:
        return {"repaid_on": timezone.localdate()}


class OverdueForm(ActionForm):
    """Report the loan overdue, with the days past due."""

    days_past_due = forms.IntegerField(label=_("Days past due"))
    payload_fields = ("days_past_due", "note")


#: The form for what a transition needs (the first need that has one); a transition
#: needing none of these takes ``ActionForm``.
FORMS_BY_NEED: dict[str, type[ActionForm]] = {
    transitions.NEEDS_QUESTION: QuestionForm,
    transitions.NEEDS_OFFER: OfferForm,
    transitions.NEEDS_REASONS: RejectForm,
    transitions.NEEDS_DISBURSEMENT: DisburseForm,
    transitions.NEEDS_REPAYMENT: RepaidForm,
    transitions.NEEDS_ARREARS: OverdueForm,
}


def action_form_class(transition: transitions.Transition) -> type[ActionForm]:
    for need in sorted(transition.needs):
        if need in FORMS_BY_NEED:
            return FORMS_BY_NEED[need]
    return ActionForm
