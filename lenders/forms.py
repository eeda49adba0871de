from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core import netguard
from core.codes import DISTRICTS, INDUSTRIES, Category
from lenders.apikeys import SCOPES
from lenders.models import LoanProduct
from lenders.services import PRODUCT_FIELDS


class ProductForm(forms.ModelForm):
    regions = forms.MultipleChoiceField(
        label=_("Districts (none = city-wide)"),
        choices=list(DISTRICTS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    industries = forms.MultipleChoiceField(
        label=_("Industries (none = all)"),
        choices=list(INDUSTRIES.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    required_categories = forms.MultipleChoiceField(
        label=_("Data the applicant must authorize"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = LoanProduct
        fields = [f for f in PRODUCT_FIELDS if f != "required_categories"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "description_en": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "name_en": _("Shown on the English pages; empty = the Chinese name."),
            "description_en": _(
                "Shown on the English pages; empty = the Chinese description."
            ),
        }

    def __init__(
        self, *args, editing: bool = False, proposal: dict | None = None, **kwargs
    ) -> None:
        """``proposal``: the terms of the product's pending revision, shown instead
        of the listed ones, so the bank edits what it last asked for."""
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True
        if self.instance.pk:
            self.fields["regions"].initial = list(
                self.instance.districts.values_list("district", flat=True)
            )
            self.fields["industries"].initial = list(
                self.instance.industries.values_list("industry", flat=True)
            )
            self.fields[
                "required_categories"
            ].initial = self.instance.required_categories
        if proposal and not self.is_bound:
            for name, value in proposal.items():
                if name in ("regions", "industries", "required_categories"):
                    self.fields[name].initial = list(value)
                elif name in self.fields and name != "code":
                    self.initial[name] = value

    def _post_clean(self) -> None:
        # Model validation (ranges, legal cap) runs in the service, which reports every
        # field error; the form only parses the input.
        pass


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=[(s, s) for s in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["products:read"],
    )


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=_("HTTPS URL"), max_length=500, assume_scheme="https")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith("https://"):
            raise forms.ValidationError(_("The endpoint must use HTTPS."))
        # Refused here for the form to show it; webhook_endpoint_save checks it again
        # for its other callers, and every delivery resolves the host once more.
        try:
            netguard.resolve_public_url(url)
        except netguard.UnsafeDestination as error:
            raise forms.ValidationError(error.message) from None
        return url


class LenderOnboardingForm(forms.Form):
    name = forms.CharField(label=_("Registered name"), max_length=200)
    name_en = forms.CharField(
        label=_("English name"),
        max_length=200,
        required=False,
        help_text=_("Shown on the English pages; empty = the registered name."),
    )
    short_name = forms.CharField(label=_("Short name"), max_length=50)
    licence_number = forms.CharField(
        label=_("Financial licence number"), max_length=50, required=False
    )
    head_office_address = forms.CharField(
        label=_("Head office address"), max_length=300, required=False
    )
    admin_email = forms.EmailField(
        label=_("Email of its first administrator"), max_length=254
    )


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("What must the bank change?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class BranchForm(forms.Form):
    name = forms.CharField(label=_("Branch name"), max_length=200)
    districts = forms.MultipleChoiceField(
        label=_("Districts served"),
        choices=list(DISTRICTS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one district.")},
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
