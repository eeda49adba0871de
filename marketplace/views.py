"""The marketplace's pages. Views parse the request, call a workflow, a service or a
selector, and render; rules live in the services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from marketplace import selectors

# --- application views (lead) ---
# The inbox and the SME's application pages are in ``marketplace.sme_views``.
# --- end application views ---
# --- matching views (H1) ---
# The SME's matches: the full page, the dashboard's top matches and the verdict on a
# product page (both htmx fragments, loaded by pages of other apps, which cannot
# import the marketplace). Imports are inside the functions: this block shares the
# module with the application views.

#: Ranked products (and near misses) per page of the matches page.
MATCHES_PAGE_SIZE = 20
#: What the dashboard shows: the best eligible products, then the best near misses.
TOP_MATCHES = 5
TOP_NEAR_MISSES = 3


def _matching_enterprise(request: HttpRequest):
    """The signed-in user's enterprise; ``None`` for an anonymous visitor or a user
    of no enterprise (the fragments then answer 204, which htmx does not swap in)."""
    from accounts.models import User
    from borrowers import selectors as borrower_selectors

    if not isinstance(request.user, User):
        return None
    return borrower_selectors.enterprise_for_user(user=request.user)


def _desired_amount(raw: str):
    """``?amount=`` as a Decimal (``None`` when not given) and the message for a value
    that is not an amount."""
    from decimal import Decimal, InvalidOperation

    from django.utils.translation import gettext

    from lenders.models import AMOUNT_CEILING

    text = raw.strip().replace(",", "").replace("，", "")
    if not text:
        return None, ""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, gettext("Enter the amount as a number of yuan, e.g. 500000.")
    if not amount.is_finite() or amount <= 0:
        return None, gettext("Enter an amount greater than zero.")
    if amount > AMOUNT_CEILING:
        return None, gettext("Enter an amount of at most CNY %(amount)s.") % {
            "amount": f"{AMOUNT_CEILING:,.0f}"
        }
    return amount.quantize(Decimal("0.01")), ""


def _page_number(raw: str | None) -> int:
    """A page number as asked for (1 if it is not a positive number); the paginator
    then brings one past the end back to the last page."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), 10_000)


@login_required
@require_http_methods(["GET"])
def matches(request: HttpRequest) -> HttpResponse:
    """Every listed product the SME's enterprise is eligible for, ranked, each with
    why it fits; then the near misses with why not. ``?amount=`` (optional) adds
    the amount fit."""
    from django.core.paginator import Paginator
    from django.utils.translation import gettext

    enterprise = _matching_enterprise(request)
    if enterprise is None:
        raise Http404(gettext("You do not belong to a registered enterprise."))
    amount, amount_error = _desired_amount(request.GET.get("amount", ""))
    facts = selectors.enterprise_match_facts(enterprise=enterprise)
    context: dict = {
        "enterprise": enterprise,
        "facts": facts,
        "amount_value": request.GET.get("amount", "")[:30],
        "amount_error": amount_error,
    }
    if facts is not None:
        # Only as many matches as the pages asked for are kept (``rank``'s limits).
        wanted, near_wanted = (
            _page_number(request.GET.get(name)) * MATCHES_PAGE_SIZE
            for name in ("page", "near_page")
        )
        ranking = selectors.enterprise_ranking(
            facts=facts, desired_amount=amount, limit=wanted, near_limit=near_wanted
        )
        # A page number past the end shows the last page, which the limit covers.
        page = Paginator(range(ranking.eligible_count), MATCHES_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        near_page = Paginator(range(ranking.near_count), MATCHES_PAGE_SIZE).get_page(
            request.GET.get("near_page")
        )
        # One query for the products of both lists.
        cards = selectors.match_cards(
            facts=facts,
            matches=[
                *ranking.eligible[page.start_index() - 1 : page.end_index()],
                *ranking.near_misses[
                    near_page.start_index() - 1 : near_page.end_index()
                ],
            ],
            desired_amount=amount,
            first_position=max(page.start_index(), 1),
        )
        context.update(
            page=page,
            near_page=near_page,
            cards=[card for card in cards if not card.match.failed],
            near_cards=[card for card in cards if card.match.failed],
            eligible_count=ranking.eligible_count,
            near_count=ranking.near_count,
        )
    return render(request, "marketplace/matches.html", context)


@require_http_methods(["GET"])
def top_matches(request: HttpRequest) -> HttpResponse:
    """The dashboard's panel (htmx): the best few matches and near misses."""
    enterprise = _matching_enterprise(request)
    if enterprise is None:
        return HttpResponse(status=204)
    facts = selectors.enterprise_match_facts(enterprise=enterprise)
    context: dict = {"facts": facts}
    if facts is not None:
        ranking = selectors.enterprise_ranking(
            facts=facts, limit=TOP_MATCHES, near_limit=TOP_NEAR_MISSES
        )
        cards = selectors.match_cards(
            facts=facts, matches=[*ranking.eligible, *ranking.near_misses]
        )
        context.update(
            cards=[card for card in cards if not card.match.failed],
            near_cards=[card for card in cards if card.match.failed],
            eligible_count=ranking.eligible_count,
            near_count=ranking.near_count,
        )
    return render(request, "marketplace/_top_matches.html", context)


@require_http_methods(["GET"])
def product_verdict(request: HttpRequest, pk: int) -> HttpResponse:
    """The product page's verdict for the signed-in SME's enterprise (htmx): the
    same rules and words as its match card. 404 for a product that is not listed."""
    enterprise = _matching_enterprise(request)
    if enterprise is None:
        return HttpResponse(status=204)
    facts = selectors.enterprise_match_facts(enterprise=enterprise)
    card = selectors.product_match_card(facts=facts, product_pk=pk)
    if card is None:
        raise Http404
    return render(
        request,
        "marketplace/_verdict.html",
        {"card": card, "verdict": card.verdict, "facts": facts, "standalone": True},
    )


# --- end matching views ---
