from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization, OrganizationKind
from borrowers.models import MAX_CONSENT_MONTHS, MAX_LETTER_BYTES, ConsentPurpose
from borrowers.uscc import normalize_uscc, validate_uscc
from core.codes import DISTRICTS, INDUSTRIES, Category


class EnterpriseRegistrationForm(forms.Form):
    uscc = forms.CharField(
        label=_("Unified Social Credit Code"),
        max_length=40,
        help_text=_("18 characters, as on the business licence."),
    )
    name = forms.CharField(label=_("Registered name"), max_length=200)
    legal_representative = forms.CharField(
        label=_("Legal representative"), max_length=100
    )
    registered_capital = forms.DecimalField(
        label=_("Registered capital (CNY)"),
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0.01"),
    )
    founded_on = forms.DateField(
        label=_("Founded on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    industry = forms.ChoiceField(label=_("Industry"), choices=list(INDUSTRIES.items()))
    district = forms.ChoiceField(label=_("District"), choices=list(DISTRICTS.items()))
    employees = forms.IntegerField(
        label=_("Employees"), min_value=0, max_value=1_000_000
    )

    def clean_uscc(self) -> str:
        code = normalize_uscc(self.cleaned_data["uscc"])
        validate_uscc(code)
        return code

    def clean_founded_on(self):
        founded_on = self.cleaned_data["founded_on"]
        if founded_on > timezone.localdate():
            raise ValidationError(_("The founding date is in the future."))
        return founded_on


class VerificationCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Verification code"),
        regex=r"^[0-9]{6}$",
        max_length=6,
        error_messages={"invalid": _("The code has 6 digits.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}
        ),
    )

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()


class AuthorizationLetterForm(forms.Form):
    letter = forms.FileField(
        label=_("Authorization letter (授权委托书)"),
        help_text=_(
            "Signed by the legal representative and stamped with the company seal; "
            "PDF, JPEG or PNG, at most 5 MB."
        ),
        widget=forms.ClearableFileInput(
            attrs={"accept": "application/pdf,image/jpeg,image/png"}
        ),
    )

    def clean_letter(self):
        letter = self.cleaned_data["letter"]
        # Checked on the size before a byte is read: a huge upload is never loaded.
        if letter.size > MAX_LETTER_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)d MB.")
                % {"size": MAX_LETTER_BYTES // (1024 * 1024)}
            )
        return letter


class LetterReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("approve", pgettext_lazy("verification decision", "Approve")),
            ("reject", pgettext_lazy("verification decision", "Reject")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason for a rejection (shown to the enterprise)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            self.add_error(
                "reason",
                _("Give the reason for the rejection; the enterprise is shown it."),
            )
        return data


class OrganizationChoiceField(forms.ModelChoiceField):
    """Organizations by their name in the page's language."""

    def label_from_instance(self, obj: Organization) -> str:
        return obj.display_name


class ConsentForm(forms.Form):
    grantee = OrganizationChoiceField(
        label=_("Grantee"),
        queryset=Organization.objects.none(),
        empty_label=None,
    )
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    categories = forms.MultipleChoiceField(
        label=_("Data categories"),
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one data category.")},
    )
    months = forms.IntegerField(
        label=_("Valid for (months)"),
        min_value=1,
        max_value=MAX_CONSENT_MONTHS,
        initial=12,
    )
    retention_days = forms.IntegerField(
        label=_("Retention after the consent ends (days)"),
        min_value=0,
        max_value=5 * 365,
        initial=180,
    )
    notice_sha256 = forms.CharField(required=False, widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label=_("I have read the notice above and grant this authorization."),
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from accounts.selectors import platform_organization

        platform = platform_organization()  # the default grantee always exists
        grantee = self.fields["grantee"]
        assert isinstance(grantee, forms.ModelChoiceField)  # declared above
        grantee.initial = platform.pk
        grantee.queryset = Organization.objects.filter(
            kind__in=[OrganizationKind.PLATFORM, OrganizationKind.LENDER],
            is_active=True,
        ).order_by("-kind", "name")
        self.fields["categories"].initial = list(Category.values)
