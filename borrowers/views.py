"""Enterprise registration and real-name verification (企业实名认证), and the
operators' review of authorization letters. Views parse input, call a service or a
workflow, render; domain errors become messages and 4xx answers.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import operator_membership, signed_in_user
from accounts.models import OrganizationKind, Role
from accounts.selectors import membership_for
from borrowers import selectors, services
from borrowers.exceptions import BorrowersError, RegistryMismatch, RegistryUnavailable
from borrowers.forms import (
    AuthorizationLetterForm,
    EnterpriseRegistrationForm,
    LetterReviewForm,
    VerificationCodeForm,
)
from borrowers.models import Enterprise
from core.checks import is_sandbox_url
from workflows import onboarding


def _add_errors(form, error: BorrowersError) -> None:
    """Each field the error names under that field; anything else above the form."""
    if isinstance(error, RegistryMismatch):
        for field, message in error.errors.items():
            form.add_error(field, message)
        return
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _error_status(error: BorrowersError) -> int:
    # The registry being down is not the user's mistake.
    return 503 if isinstance(error, RegistryUnavailable) else 400


@login_required
def enterprise_register(request: HttpRequest) -> HttpResponse:
    existing = selectors.enterprise_for_user(user=signed_in_user(request))
    if existing is not None:
        messages.info(
            request, _("You already belong to %(name)s.") % {"name": existing.name}
        )
        return redirect("accounts:portal_enterprise")
    form = EnterpriseRegistrationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                enterprise = onboarding.enterprise_register(
                    user=signed_in_user(request), **form.cleaned_data
                )
            except BorrowersError as error:
                _add_errors(form, error)
                status = _error_status(error)
            else:
                messages.success(
                    request,
                    _(
                        "%(name)s is registered. Next: prove that you act for it "
                        "(real-name verification)."
                    )
                    % {"name": enterprise.name},
                )
                return redirect("borrowers:verify")
    return render(request, "borrowers/register.html", {"form": form}, status=status)


# --- The owner's verification page ------------------------------------------------------


def _my_enterprise(request: HttpRequest) -> Enterprise:
    enterprise = selectors.enterprise_for_user(user=signed_in_user(request))
    if enterprise is None:
        raise Http404(_("You do not belong to a registered enterprise."))
    return enterprise


def _is_owner(request: HttpRequest, enterprise: Enterprise) -> bool:
    membership = membership_for(
        user=signed_in_user(request), kind=OrganizationKind.ENTERPRISE
    )
    return bool(
        membership
        and membership.organization_id == enterprise.organization_id
        and membership.role == Role.OWNER
    )


def _sandbox_outbox_url() -> str | None:
    """The sandbox's page of "sent" codes, when the sandbox is the provider in use."""
    if not getattr(settings, "CREDIT_SANDBOX_ENABLED", False):
        return None
    if not is_sandbox_url(getattr(settings, "CREDIT_PROVIDER_URL", "")):
        return None
    try:
        return reverse("sandbox:outbox")
    except NoReverseMatch:
        return None


def _render_verify(
    request: HttpRequest,
    enterprise: Enterprise,
    *,
    code_form: VerificationCodeForm | None = None,
    letter_form: AuthorizationLetterForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "borrowers/verify.html",
        {
            "enterprise": enterprise,
            "is_owner": _is_owner(request, enterprise),
            "code_form": code_form or VerificationCodeForm(),
            "letter_form": letter_form or AuthorizationLetterForm(),
            "wait_seconds": services.verification_code_wait_seconds(
                enterprise=enterprise
            ),
            "sandbox_outbox_url": _sandbox_outbox_url(),
            **selectors.verification_overview(enterprise=enterprise),
        },
        status=status,
    )


@login_required
def enterprise_verify(request: HttpRequest) -> HttpResponse:
    """Send a code to the registered contact, or enter it (``action``)."""
    enterprise = _my_enterprise(request)
    if request.method != "POST":
        return _render_verify(request, enterprise)
    action = request.POST.get("action")
    if action == "send":
        try:
            verification = onboarding.verification_code_send(
                enterprise=enterprise, user=signed_in_user(request)
            )
        except BorrowersError as error:
            messages.error(request, error.message)
            return _render_verify(request, enterprise, status=_error_status(error))
        messages.success(
            request,
            _("A code was sent to %(contact)s. It is valid for 10 minutes.")
            % {"contact": verification.masked_contact},
        )
        return redirect("borrowers:verify")
    if action != "confirm":
        messages.error(request, _("Choose what to do: send a code or enter it."))
        return _render_verify(request, enterprise, status=400)
    code_form = VerificationCodeForm(request.POST)
    if not code_form.is_valid():
        return _render_verify(request, enterprise, code_form=code_form, status=400)
    try:
        onboarding.verification_code_confirm(
            enterprise=enterprise,
            user=signed_in_user(request),
            code=code_form.cleaned_data["code"],
        )
    except BorrowersError as error:
        _add_errors(code_form, error)
        return _render_verify(
            request, enterprise, code_form=code_form, status=_error_status(error)
        )
    messages.success(
        request,
        _("%(name)s is verified. Next: authorize the platform to read its data.")
        % {"name": enterprise.name},
    )
    return redirect("creditdata:consent_new")


@login_required
@require_POST
def enterprise_verify_letter(request: HttpRequest) -> HttpResponse:
    """Upload an authorization letter for an operator to review."""
    enterprise = _my_enterprise(request)
    letter_form = AuthorizationLetterForm(request.POST, request.FILES)
    if not letter_form.is_valid():
        return _render_verify(request, enterprise, letter_form=letter_form, status=400)
    upload = letter_form.cleaned_data["letter"]
    try:
        services.verification_letter_submit(
            enterprise=enterprise,
            user=signed_in_user(request),
            filename=upload.name or "",
            content=upload.read(),
        )
    except BorrowersError as error:
        _add_errors(letter_form, error)
        return _render_verify(request, enterprise, letter_form=letter_form, status=400)
    messages.success(
        request,
        _(
            "Your authorization letter was received. An operator will review it; "
            "you will see the outcome here and on your portal."
        ),
    )
    return redirect("borrowers:verify")


@login_required
def verification_letter_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The letter's file, for the enterprise's owners and platform operators only:
    anyone else gets the same 404 as for a letter that does not exist."""
    letter = selectors.verification_letter_file(pk=pk)
    if letter is None or letter.letter_content is None:
        raise Http404(_("No such letter."))
    is_operator = (
        membership_for(user=signed_in_user(request), kind=OrganizationKind.PLATFORM)
        is not None
    )
    if not is_operator and not _is_owner(request, letter.enterprise):
        raise Http404(_("No such letter."))
    content_type = letter.letter_content_type
    response = HttpResponse(bytes(letter.letter_content), content_type=content_type)
    # Images are shown in the page; a PDF is downloaded (the portal's policy allows
    # no plug-in to render it in place).
    response["Content-Disposition"] = (
        content_disposition_header(
            content_type == "application/pdf", letter.letter_filename
        )
        or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- The operators' review of authorization letters -----------------------------------


@login_required
def operator_verifications(request: HttpRequest) -> HttpResponse:
    operator_membership(request)
    return render(
        request,
        "borrowers/operator_verifications.html",
        {
            "pending": selectors.verification_letters_pending(),
            "reviewed": selectors.verification_letters_reviewed()[:20],
        },
    )


@login_required
def operator_verification(request: HttpRequest, pk: int) -> HttpResponse:
    """One letter: look at it, approve it or reject it with a reason."""
    operator_membership(request)
    letter = selectors.verification_letter(pk=pk)
    if letter is None:
        raise Http404(_("No such letter."))
    form = LetterReviewForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            approve = form.cleaned_data["decision"] == "approve"
            try:
                services.verification_letter_review(
                    verification=letter,
                    reviewer=signed_in_user(request),
                    approve=approve,
                    reason=form.cleaned_data["reason"],
                )
            except BorrowersError as error:
                _add_errors(form, error)
            else:
                messages.success(
                    request,
                    (
                        _("%(name)s is verified.")
                        if approve
                        else _("The letter of %(name)s was rejected.")
                    )
                    % {"name": letter.enterprise.name},
                )
                return redirect("borrowers:operator_verifications")
    return render(
        request,
        "borrowers/operator_verification.html",
        {"letter": letter, "form": form},
        status=status,
    )
