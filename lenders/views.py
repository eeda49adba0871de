"""The bank portal (products, API keys, webhooks) and the operator's bank pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import operator_membership, signed_in_user
from accounts.exceptions import AccountsError
from core.exceptions import DomainError
from lenders import apikeys, lifecycle, selectors, services, supermarket, webhooks
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
    LoanProductRevision,
    ProductStatus,
    RevisionStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from workflows import onboarding, product_review


def _bank(request: HttpRequest):
    lender = selectors.lender_for_user(user=signed_in_user(request))
    if lender is None:
        raise Http404(_("You are not on the staff of a bank."))
    role = services.actor_role(user=signed_in_user(request), lender=lender)
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
    # A listed product's change waiting for review, or the last one returned: the
    # form edits the pending proposal, and the page says what is pending or why it
    # was returned.
    revision = (
        selectors.open_revision(product)
        if product is not None and product.status == ProductStatus.LISTED
        else None
    )
    pending = (
        revision if revision and revision.status == RevisionStatus.PENDING else None
    )
    form = ProductForm(
        request.POST or None,
        instance=product,
        editing=product is not None,
        proposal=pending.proposed if pending else None,
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
                        actor=signed_in_user(request),
                        data=data,
                        regions=form.cleaned_data["regions"],
                        industries=form.cleaned_data["industries"],
                    )
                else:
                    change = services.product_update(
                        product=product,
                        actor=signed_in_user(request),
                        data=data,
                        regions=form.cleaned_data["regions"],
                        industries=form.cleaned_data["industries"],
                    )
                    saved = change.product
            except InvalidProduct as error:
                for field, field_errors in error.errors.items():
                    for message in field_errors:
                        form.add_error(field if field in form.fields else None, message)
            except LendersError as error:
                form.add_error(None, error.message)
            else:
                if product is not None and change.revision is not None:
                    messages.success(
                        request,
                        _(
                            "%(code)s: your change was sent to the platform's review; "
                            "the listed terms stay until it is approved."
                        )
                        % {"code": saved.code},
                    )
                else:
                    messages.success(
                        request, _("Product %(code)s saved.") % {"code": saved.code}
                    )
                return redirect("lenders:products")
    changes = (
        supermarket.term_changes(product.terms(), revision.proposed)
        if product is not None and revision is not None
        else []
    )
    return render(
        request,
        "lenders/product_form.html",
        # Only administrators reach this form; the tabs show them the API keys.
        {
            "lender": lender,
            "form": form,
            "product": product,
            "is_admin": is_admin,
            "revision": revision,
            "changes": changes,
        },
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
        services.product_transition(
            product=product, action=action, actor=signed_in_user(request)
        )
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
                created_by=signed_in_user(request),
            )
        except LendersError as error:
            form.add_error(
                error.field if error.field in form.fields else None, error.message
            )
    response = render(
        request,
        "lenders/api_keys.html",
        {
            "lender": lender,
            "form": form,
            "raw_key": raw_key,
            "keys": ApiKey.objects.filter(lender=lender).select_related("created_by"),
            "is_admin": is_admin,
        },
    )
    if raw_key is not None:
        add_never_cache_headers(response)  # no browser or proxy keeps the key
    return response


@login_required
@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    lender, _is_admin = _bank(request)
    key = get_object_or_404(ApiKey, pk=pk, lender=lender)
    try:
        apikeys.api_key_revoke(key=key, actor=signed_in_user(request))
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
    # The page never shows the stored secret, so it is not even decrypted.
    endpoint = WebhookEndpoint.objects.filter(lender=lender).defer("secret").first()
    form = WebhookEndpointForm(
        request.POST or None, initial={"url": endpoint.url if endpoint else ""}
    )
    new_secret = None
    if request.method == "POST":
        if not is_admin:
            raise Http404(
                _("Only the bank's administrators manage the webhook endpoint.")
            )
        if form.is_valid():
            try:
                endpoint, new_secret = services.webhook_endpoint_configure(
                    lender=lender,
                    url=form.cleaned_data["url"],
                    rotate_secret=bool(request.POST.get("rotate")),
                    actor=signed_in_user(request),
                )
            except DomainError as error:  # e.g. the host now resolves privately
                form.add_error(
                    error.field if error.field in form.fields else None, error.message
                )
            else:
                messages.success(request, _("Webhook endpoint saved."))
                if new_secret is None:
                    return redirect("lenders:webhook")
                # A new secret is shown in this answer only: it is kept nowhere in
                # plaintext (not in the session, not in a message) for a later page.
                form = WebhookEndpointForm(initial={"url": endpoint.url})
    deliveries = WebhookDelivery.objects.filter(
        endpoint__lender=lender
    ).prefetch_related("attempt_log")[:50]
    response = render(
        request,
        "lenders/webhook.html",
        {
            "lender": lender,
            "form": form,
            "endpoint": endpoint,
            "new_secret": new_secret,
            "deliveries": deliveries,
            "is_admin": is_admin,
        },
    )
    if new_secret is not None:
        add_never_cache_headers(response)  # no browser or proxy keeps the secret
    return response


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
                lender=lender,
                actor=signed_in_user(request),
                data=form.cleaned_data,
                branch=branch,
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
        {"lender": lender, "form": form, "branch": branch, "is_admin": is_admin},
        status=status,
    )


@login_required
@require_POST
def branch_delete(request: HttpRequest, pk: int) -> HttpResponse:
    lender, _is_admin = _bank(request)
    branch = get_object_or_404(Branch, pk=pk, lender=lender)
    try:
        services.branch_delete(branch=branch, actor=signed_in_user(request))
    except LendersError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Branch deleted."))
    return redirect("lenders:branches")


# --- the platform operator ------------------------------------------------------------------


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    operator_membership(request)
    return render(
        request,
        "lenders/review_queue.html",
        {
            "product_cards": [
                supermarket.product_review_card(product)
                for product in selectors.products_awaiting_review()
            ],
            "revision_cards": [
                supermarket.revision_review_card(revision)
                for revision in selectors.revisions_awaiting_review()
            ],
            "return_form": ReturnForm(),
        },
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
            actor=signed_in_user(request),
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
@require_POST
def review_revision_decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Approve or return a listed product's pending change; the card posts the
    ``edits`` count it showed, so a proposal changed since is not decided blind."""
    operator_membership(request)
    decision = lifecycle.REVISION_DECISIONS.get(action)
    if decision is None:
        raise Http404()
    revision = get_object_or_404(
        LoanProductRevision.objects.select_related("product"), pk=pk
    )
    # A count that is not one (tampered with) can match no proposal: refused.
    raw_edits = request.POST.get("edits")
    expected_edits = None
    if raw_edits is not None:
        valid = raw_edits.isascii() and raw_edits.isdigit() and len(raw_edits) < 10
        expected_edits = int(raw_edits) if valid else -1
    try:
        product_review.product_revision_decide(
            revision=revision,
            action=action,
            actor=signed_in_user(request),
            comment=request.POST.get("comment", ""),
            expected_edits=expected_edits,
        )
    except LendersError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(code)s: %(action)s — done.")
            % {"action": decision.label, "code": revision.product.code},
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
                name_en=data["name_en"],
                short_name=data["short_name"],
                licence_number=data["licence_number"],
                head_office_address=data["head_office_address"],
                admin_email=data["admin_email"],
                invited_by=signed_in_user(request),
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
