"""Portal pages. Views parse input, call a service or selector, and render."""

from __future__ import annotations

from allauth.account.views import LoginView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.decorators import signed_in_user
from accounts.exceptions import AccountsError
from accounts.forms import InvitationForm, OrganizationCreateForm
from accounts.models import (
    Invitation,
    Membership,
    Organization,
    OrganizationKind,
    Role,
)
from workflows import onboarding

#: Where each kind of organization's staff land after login, most privileged first.
PORTAL_BY_KIND: dict[str, str] = {
    OrganizationKind.PLATFORM: "accounts:portal_operator",
    OrganizationKind.PROMOTION_OFFICE: "accounts:portal_office",
    OrganizationKind.LENDER: "accounts:portal_lender",
    OrganizationKind.ENTERPRISE: "accounts:portal_enterprise",
}


@login_required
def portal(request: HttpRequest) -> HttpResponse:
    """Send each user to the portal of their role; explain what to do without one."""
    kinds = selectors.user_kinds(user=signed_in_user(request))
    for kind, url_name in PORTAL_BY_KIND.items():
        if kind in kinds:
            return redirect(url_name)
    return render(request, "accounts/portal_none.html", {})


def _portal(request: HttpRequest, kind: str, template: str, extra=None) -> HttpResponse:
    membership = selectors.membership_for(user=signed_in_user(request), kind=kind)
    if membership is None:
        raise Http404(_("You are not a member of such an organization."))
    context = {
        "membership": membership,
        "organization": membership.organization,
        "members": selectors.organization_members(organization=membership.organization),
        "invitations": selectors.organization_open_invitations(
            organization=membership.organization
        )
        if membership.can_manage_members
        else [],
        "invitation_form": InvitationForm(organization=membership.organization),
    }
    if extra:
        context.update(extra(membership))
    return render(request, template, context)


@login_required
def portal_enterprise(request: HttpRequest) -> HttpResponse:
    return _portal(
        request, OrganizationKind.ENTERPRISE, "accounts/portal_enterprise.html"
    )


@login_required
def portal_lender(request: HttpRequest) -> HttpResponse:
    # ``is_admin``: the bank tabs show the API-keys page to administrators only.
    return _portal(
        request,
        OrganizationKind.LENDER,
        "accounts/portal_lender.html",
        lambda membership: {"is_admin": membership.role == Role.ADMIN},
    )


@login_required
def portal_office(request: HttpRequest) -> HttpResponse:
    def cms_overview(membership: Membership) -> dict:
        from wagtail.models import Page, WorkflowState

        return {
            "live_pages": Page.objects.filter(depth__gt=1, live=True).count(),
            "draft_pages": Page.objects.filter(depth__gt=1, live=False).count(),
            "in_moderation": WorkflowState.objects.filter(
                status=WorkflowState.STATUS_IN_PROGRESS
            ).count(),
        }

    return _portal(
        request,
        OrganizationKind.PROMOTION_OFFICE,
        "accounts/portal_office.html",
        cms_overview,
    )


@login_required
def portal_operator(request: HttpRequest) -> HttpResponse:
    membership = selectors.membership_for(
        user=signed_in_user(request), kind=OrganizationKind.PLATFORM
    )
    if membership is None:
        raise Http404(_("You are not a member of such an organization."))
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            organization = onboarding.organization_onboard(
                kind=data["kind"],
                name=data["name"],
                name_en=data["name_en"],
                admin_email=data["admin_email"],
                invited_by=signed_in_user(request),
            )
        except AccountsError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(
                request,
                _("%(name)s was created and %(email)s invited.")
                % {"name": organization.name, "email": data["admin_email"]},
            )
            return redirect("accounts:portal_operator")
    # The list: 50 a page, of one kind with ``?kind=``. A kind that is not one is
    # ignored (every kind listed) and said so on the page.
    kind = request.GET.get("kind") or None
    unknown_kind = kind if kind not in (None, *OrganizationKind.values) else None
    if unknown_kind is not None:
        kind = None
    kind_counts = selectors.organization_kind_counts()
    return render(
        request,
        "accounts/portal_operator.html",
        {
            "membership": membership,
            "organization": membership.organization,
            "organizations": selectors.organizations_page(
                kind=kind, page=request.GET.get("page")
            ),
            "kind": kind,
            "unknown_kind": unknown_kind,
            "kinds": [
                {"value": value, "label": label, "count": kind_counts[value]}
                for value, label in OrganizationKind.choices
            ],
            "kind_counts": kind_counts,
            "kind_labels": dict(OrganizationKind.choices),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


def _managed_organization(request: HttpRequest, organization_pk: int) -> Organization:
    """The organization, if the user manages it (or operates the platform); else 404."""
    organization = get_object_or_404(Organization, pk=organization_pk)
    for membership in selectors.user_memberships(user=signed_in_user(request)):
        if (
            membership.organization_id == organization.pk
            and membership.can_manage_members
        ):
            return organization
        if membership.organization.kind == OrganizationKind.PLATFORM:
            return organization
    raise Http404(_("You do not manage this organization."))


@login_required
@require_POST
def invitation_create(request: HttpRequest, organization_pk: int) -> HttpResponse:
    organization = _managed_organization(request, organization_pk)
    form = InvitationForm(request.POST, organization=organization)
    if form.is_valid():
        try:
            services.invitation_create(
                organization=organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=signed_in_user(request),
            )
        except AccountsError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s.")
                % {"email": form.cleaned_data["email"]},
            )
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else field
            for message in errors:
                messages.error(request, f"{label}: {message}")
    return redirect(_portal_url(organization))


@login_required
@require_POST
def invitation_revoke(
    request: HttpRequest, organization_pk: int, invitation_pk: int
) -> HttpResponse:
    organization = _managed_organization(request, organization_pk)
    invitation = get_object_or_404(
        Invitation, pk=invitation_pk, organization=organization
    )
    services.invitation_revoke(invitation=invitation)
    messages.success(
        request, _("Invitation to %(email)s revoked.") % {"email": invitation.email}
    )
    return redirect(_portal_url(organization))


def _portal_url(organization: Organization) -> str:
    from django.urls import reverse

    return reverse(PORTAL_BY_KIND[organization.kind])


#: The two admin areas: who may enter each and the name users see.
ADMIN_AREAS = {
    "cms": (
        gettext_lazy("the content management system"),
        lambda user: user.has_perm("wagtailadmin.access_admin"),
    ),
    "django_admin": (
        gettext_lazy("the system administration"),
        lambda user: user.is_active and user.is_staff,
    ),
}


def admin_login(request: HttpRequest, *, area: str) -> HttpResponse:
    """The admin areas' login page (allauth's, so its rate limits and MFA apply).

    A signed-in user without access to the area is told so (403): sending them to the
    login page, which sends a signed-in user back to ``next``, looped forever."""
    name, may_enter = ADMIN_AREAS[area]
    if request.user.is_authenticated and not may_enter(request.user):
        return render(
            request, "accounts/admin_no_access.html", {"area": name}, status=403
        )
    return LoginView.as_view()(request)
