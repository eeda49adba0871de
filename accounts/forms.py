from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import ROLES_BY_KIND, Organization, OrganizationKind, Role


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=())

    def __init__(self, *args, organization: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        allowed = ROLES_BY_KIND[organization.kind]
        self.fields["role"].choices = [(r, Role(r).label) for r in allowed]


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
