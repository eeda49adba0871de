"""Enterprise registration. Views parse input, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from borrowers import selectors
from borrowers.exceptions import BorrowersError
from borrowers.forms import EnterpriseRegistrationForm
from workflows import onboarding


@login_required
def enterprise_register(request: HttpRequest) -> HttpResponse:
    existing = selectors.enterprise_for_user(user=request.user)
    if existing is not None:
        messages.info(
            request, _("You already belong to %(name)s.") % {"name": existing.name}
        )
        return redirect("accounts:portal_enterprise")
    form = EnterpriseRegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enterprise = onboarding.enterprise_register(
                user=request.user, **form.cleaned_data
            )
        except BorrowersError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(
                request,
                _(
                    "%(name)s is registered. Next: authorize the platform to read its data."
                )
                % {"name": enterprise.name},
            )
            return redirect("creditdata:consent_new")
    status = 400 if request.method == "POST" else 200
    return render(request, "borrowers/register.html", {"form": form}, status=status)
