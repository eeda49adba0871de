"""The bank portal (products, API keys, webhooks) and the operator's bank pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import operator_membership
from accounts.exceptions import AccountsError
from core.exceptions import DomainError
from lenders import apikeys, lifecycle, selectors, services, webhooks
from lenders.exceptions import InvalidProduct, LendersError
from lenders.forms import (
    ApiKeyForm,
    BranchForm,
    LenderOnboardingForm,
    ProductForm,
    ReturnForm,
    WebhookEndpointForm,
)
from lenders.models import (
    ApiKey,
    Branch,
    LoanProduct,
    ProductStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from workflows import onboarding, product_review


def _bank(request: HttpRequest):
    lender = selectors.lender_for_user(user=request.user)
    if lender is None:
        raise Http404(_("You are not on the staff of a bank."))
    role = services.actor_role(user=request.user, lender=lender)
    return lender, role == lifecycle.LENDER_ADMIN


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    lender, is_admin = _bank(request)
    # The bank's own list acts as the bank: its administrators take the lender's
    # actions of the lifecycle table; the rest of its staff take none.
    role = lifecycle.LENDER_ADMIN if is_admin else None
    return render(
        request,
        "lenders/products.html",
        {
            "lender": lender,
            "rows": selectors.bank_product_rows(lender=lender, role=role),
            "is_admin": is_admin,
        },
    )


def _product_form_view(
    request: HttpRequest, product: LoanProduct | None
) -> HttpResponse:
    lender, is_admin = _bank(request)
    if not is_admin:
        raise Http404(_("Only the bank's administrators manage its products."))
    form = ProductForm(
        request.POST or None, instance=product, editing=product is not None
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = {
                k: v
                for k, v in form.cleaned_data.items()
                if k not in ("regions", "industries")
            }
            try:
                if product is None:
                    saved = services.product_create(
                        lender=lender,
                        actor=request.user,
                        data=data,
                        regions=form.cleaned_data["regions"],
                        industries=form.cleaned_data["industries"],
                    )
                else:
                    saved = services.product_update(
                        product=product,
                        actor=request.user,
                        data=data,
                        regions=form.cleaned_data["regions"],
                        industries=form.cleaned_data["industries"],
                    )
            except InvalidProduct as error:
                for field, field_errors in error.errors.items():
                    for message in field_errors:
                        form.add_error(field if field in form.fields else None, message)
            except LendersError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request, _("Product %(code)s saved.") % {"code": saved.code}
                )
                return redirect("lenders:products")
    return render(
        request,
        "lenders/product_form.html",
        {"lender": lender, "form": form, "product": product},
        status=status,
    )


@login_required
def product_new(request: HttpRequest) -> HttpResponse:
    return _product_form_view(request, None)


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lender, _is_admin = _bank(request)
    return _product_form_view(
        request, get_object_or_404(LoanProduct, pk=pk, lender=lender)
    )


@login_required
@require_POST
def product_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    lender, _is_admin = _bank(request)
    product = get_object_or_404(LoanProduct, pk=pk, lender=lender)
    try:
        services.product_transition(product=product, action=action, actor=request.user)
    except LendersError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(code)s: %(action)s — done.")
            % {"action": lifecycle.TRANSITIONS[action].label, "code": product.code},
        )
    return redirect("lenders:products")


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    lender, is_admin = _bank(request)
    if not is_admin:
        raise Http404(_("Only the bank's administrators manage API keys."))
    form = ApiKeyForm(request.POST or None)
    raw_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _key, raw_key = apikeys.api_key_create(
                lender=lender,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=request.user,
            )
        except LendersError as error:
            form.add_error(
                error.field if error.field in form.fields else None, error.message
            )
    return render(
        request,
        "lenders/api_keys.html",
        {
            "lender": lender,
            "form": form,
            "raw_key": raw_key,
            "keys": ApiKey.objects.filter(lender=lender).select_related("created_by"),
        },
    )


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    lender, _is_admin = _bank(request)
    key = get_object_or_404(ApiKey, pk=pk, lender=lender)
    try:
        apikeys.api_key_revoke(key=key, actor=request.user)
    except LendersError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Key %(prefix)s… revoked.") % {"prefix": key.prefix}
        )
    return redirect("lenders:api_keys")


@login_required
def webhook(request: HttpRequest) -> HttpResponse:
    lender, is_admin = _bank(request)
    endpoint = WebhookEndpoint.objects.filter(lender=lender).first()
    form = WebhookEndpointForm(
        request.POST or None, initial={"url": endpoint.url if endpoint else ""}
    )
    if request.method == "POST":
        if not is_admin:
            raise Http404(
                _("Only the bank's administrators manage the webhook endpoint.")
            )
        if form.is_valid():
            try:
                endpoint = services.webhook_endpoint_save(
                    lender=lender,
                    url=form.cleaned_data["url"],
                    rotate_secret=bool(request.POST.get("rotate")),
                    actor=request.user,
                )
            except DomainError as error:  # e.g. the host now resolves privately
                form.add_error(
                    error.field if error.field in form.fields else None, error.message
                )
            else:
                messages.success(request, _("Webhook endpoint saved."))
                return redirect("lenders:webhook")
    deliveries = WebhookDelivery.objects.filter(
        endpoint__lender=lender
    ).prefetch_related("attempt_log")[:50]
    return render(
        request,
        "lenders/webhook.html",
        {
            "lender": lender,
            "form": form,
            "endpoint": endpoint,
            "deliveries": deliveries,
            "is_admin": is_admin,
        },
    )


@login_required
@require_POST
def webhook_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    lender, is_admin = _bank(request)
    if not is_admin:
        raise Http404(_("Only the bank's administrators manage the webhook endpoint."))
    delivery = get_object_or_404(WebhookDelivery, pk=pk, endpoint__lender=lender)
    webhooks.delivery_redeliver(delivery=delivery)
    messages.success(
        request,
        _("Event %(event)s queued for redelivery.") % {"event": delivery.event_id},
    )
    return redirect("lenders:webhook")


@login_required
def branches(request: HttpRequest) -> HttpResponse:
    lender, is_admin = _bank(request)
    return render(
        request,
        "lenders/branches.html",
        {"lender": lender, "branches": lender.branches.all(), "is_admin": is_admin},
    )


@login_required
def branch_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    lender, is_admin = _bank(request)
    if not is_admin:
        raise Http404(_("Only the bank's administrators manage its branches."))
    branch = get_object_or_404(Branch, pk=pk, lender=lender) if pk else None
    initial = (
        {
            "name": branch.name,
            "districts": branch.districts,
            "address": branch.address,
            "phone": branch.phone,
        }
        if branch
        else None
    )
    form = BranchForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.branch_save(
                lender=lender, actor=request.user, data=form.cleaned_data, branch=branch
            )
        except InvalidProduct as error:
            for field, field_errors in error.errors.items():
                for message in field_errors:
                    form.add_error(field if field in form.fields else "name", message)
        else:
            messages.success(request, _("Branch saved."))
            return redirect("lenders:branches")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "lenders/branch_form.html",
        {"lender": lender, "form": form, "branch": branch},
        status=status,
    )


@login_required
@require_POST
def branch_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lender, _is_admin = _bank(request)
    branch = get_object_or_404(Branch, pk=pk, lender=lender)
    try:
        services.branch_delete(branch=branch, actor=request.user)
    except LendersError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Branch deleted."))
    return redirect("lenders:branches")


# --- the platform operator ------------------------------------------------------------------


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    operator_membership(request)
    pending = (
        LoanProduct.objects.filter(status=ProductStatus.PENDING_REVIEW)
        .select_related("lender")
        .prefetch_related("districts", "industries")
        .order_by("submitted_at")
    )
    return render(
        request,
        "lenders/review_queue.html",
        {"products": pending, "return_form": ReturnForm()},
    )


@login_required
@require_POST
def review_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    operator_membership(request)
    if action not in ("approve", "return"):
        raise Http404()
    product = get_object_or_404(LoanProduct, pk=pk)
    try:
        product_review.product_review_decide(
            product=product,
            action=action,
            actor=request.user,
            comment=request.POST.get("comment", ""),
        )
    except LendersError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(code)s: %(action)s — done.")
            % {"action": lifecycle.TRANSITIONS[action].label, "code": product.code},
        )
    return redirect("lenders:review_queue")


@login_required
def lender_onboard(request: HttpRequest) -> HttpResponse:
    operator_membership(request)
    form = LenderOnboardingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            onboarding.lender_onboard(
                name=data["name"],
                short_name=data["short_name"],
                licence_number=data["licence_number"],
                head_office_address=data["head_office_address"],
                admin_email=data["admin_email"],
                invited_by=request.user,
            )
        except (AccountsError, LendersError) as error:
            form.add_error(
                error.field if error.field in form.fields else None, error.message
            )
        except (
            ValidationError
        ) as error:  # from full_clean, e.g. a bank of that name exists
            for field, field_errors in error.message_dict.items():
                for message in field_errors:
                    form.add_error(
                        "name"
                        if field in ("__all__", "kind")
                        else (field if field in form.fields else None),
                        message,
                    )
        else:
            messages.success(
                request,
                _("%(name)s onboarded; %(email)s invited as its administrator.")
                % {"name": data["name"], "email": data["admin_email"]},
            )
            return redirect("accounts:portal_operator")
    return render(
        request,
        "lenders/onboard.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
