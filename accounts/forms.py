from __future__ import annotations

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext_lazy as _

from accounts.models import ROLES_BY_KIND, Organization, OrganizationKind, Role


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        allowed = ROLES_BY_KIND[organization.kind]
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)  # declared just above
        role_field.choices = [(r, Role(r).label) for r in allowed]


class OrganizationCreateForm(forms.Form):
    # Banks are onboarded with their bank details (lenders), and enterprises register
    # themselves with their USCC (borrowers): here only the other kinds.
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (
                OrganizationKind.PROMOTION_OFFICE,
                OrganizationKind.PROMOTION_OFFICE.label,
            ),
            (OrganizationKind.PLATFORM, OrganizationKind.PLATFORM.label),
        ],
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(
        label=_("English name"),
        max_length=200,
        required=False,
        help_text=_("Shown on the English pages; empty = the name above."),
    )
    admin_email = forms.EmailField(
        label=_("Email of its first administrator"),
        max_length=254,
        help_text=_("They receive an invitation and get the managing role on login."),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name."))
        return name

    def clean(self):
        cleaned = super().clean()
        kind, name = cleaned.get("kind"), cleaned.get("name")
        if kind and name and Organization.objects.filter(kind=kind, name=name).exists():
            self.add_error(
                "name", _("An organization of this kind with this name exists.")
            )
        return cleaned


class SignupForm(AllauthSignupForm):
    """allauth's signup form, with the same work on both paths.

    For an address that already has an account allauth creates nothing and mails its
    owner instead, so the page says the same thing either way; but it skipped hashing
    the password, and the answer came back many times faster than a real signup,
    telling who is registered by its timing. The password is hashed on that path too
    (and thrown away)."""

    def try_save(self, request):
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1") or "")
        return super().try_save(request)
