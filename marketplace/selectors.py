"""Reads of the marketplace: applications as each side sees them, the consent an
application needs, the inbox, and (between the markers) the matching."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet

from accounts.models import User
from borrowers.models import ConsentPurpose, CreditAuthorization, Enterprise
from borrowers.selectors import active_authorizations, authorization_is_usable
from borrowers.services import DEFAULT_RETENTION_DAYS, consent_preview
from core.codes import Category
from lenders.models import Lender, LoanProduct
from marketplace.models import (
    REVIEW_STATES,
    Application,
    ApplicationDocument,
    ApplicationEvent,
    Notification,
)

#: How long an application's consent to the bank is written for. The review ends it
#: earlier (any decision, a withdrawal): "valid for the application's life".
APPLICATION_CONSENT_MONTHS = 12


def application_categories(*, product: LoanProduct) -> list[str]:
    """The data categories the bank reviews the application with: exactly the
    product's required ones (the registration record when it requires none: a bank
    always sees who applies)."""
    return sorted(set(product.required_categories or [Category.REGISTRATION]))


def application_consent_preview(
    *, enterprise: Enterprise, product: LoanProduct, language: str
) -> dict:
    """The separate authorization the SME reads before applying to ``product``."""
    return consent_preview(
        enterprise=enterprise,
        grantee=product.lender.organization,
        purpose=ConsentPurpose.LOAN_REVIEW,
        categories=application_categories(product=product),
        months=APPLICATION_CONSENT_MONTHS,
        retention_days=DEFAULT_RETENTION_DAYS,
        language=language,
    )


def scoring_consent(*, enterprise: Enterprise) -> CreditAuthorization | None:
    return (
        active_authorizations(enterprise=enterprise)
        .filter(purpose=ConsentPurpose.SCORING)
        .order_by("-granted_at", "-pk")
        .first()
    )


def _applications() -> QuerySet[Application]:
    return Application.objects.select_related(
        "enterprise", "product", "lender", "lender__organization"
    )


def enterprise_applications(*, enterprise: Enterprise) -> QuerySet[Application]:
    return _applications().filter(enterprise=enterprise).order_by("-created_at", "-pk")


def enterprise_application(
    *, enterprise: Enterprise, reference: str
) -> Application | None:
    return _applications().filter(enterprise=enterprise, reference=reference).first()


def active_application_for(
    *, enterprise: Enterprise, product: LoanProduct
) -> Application | None:
    from marketplace.models import CLOSED_STATES

    return (
        Application.objects.filter(enterprise=enterprise, product=product)
        .exclude(status__in=CLOSED_STATES)
        .first()
    )


def lender_applications(
    *,
    lender: Lender,
    status: str | None = None,
    product_pk: int | None = None,
    district: str | None = None,
    amount_min=None,
    amount_max=None,
) -> QuerySet[Application]:
    """The lender's applications, deadline first (those without one last)."""
    queryset = _applications().filter(lender=lender)
    if status:
        queryset = queryset.filter(status=status)
    if product_pk:
        queryset = queryset.filter(product_id=product_pk)
    if district:
        queryset = queryset.filter(district=district)
    if amount_min is not None:
        queryset = queryset.filter(requested_amount__gte=amount_min)
    if amount_max is not None:
        queryset = queryset.filter(requested_amount__lte=amount_max)
    return queryset.order_by(F("due_at").asc(nulls_last=True), "-submitted_at", "-pk")


def lender_application(*, lender: Lender, reference: str) -> Application | None:
    """One of the lender's applications; ``None`` (a 404) for anyone else's."""
    return _applications().filter(lender=lender, reference=reference).first()


def review_consent(*, application: Application) -> CreditAuthorization | None:
    """The consent under which the bank may read the applicant's records now, or
    ``None``: the application is no longer in review, or the consent was revoked,
    ended or expired. Read from the database on every call (never cached)."""
    if application.status not in REVIEW_STATES or application.authorization_id is None:
        return None
    authorization = application.authorization
    if authorization is None or not authorization_is_usable(
        authorization=authorization
    ):
        return None
    return authorization


def application_history(*, application: Application) -> QuerySet[ApplicationEvent]:
    return application.events.select_related("actor", "organization").order_by(
        "created_at", "pk"
    )


def application_document(
    *, application: Application, pk: int
) -> ApplicationDocument | None:
    return ApplicationDocument.objects.filter(
        pk=pk, information_request__application=application
    ).first()


def unread_count(*, user: User) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def inbox(*, user: User) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user)
        .select_related(
            "event__application__enterprise",
            "event__application__lender__organization",
            "event__application__product",
        )
        .order_by("-created_at", "-pk")
    )


def notification_for(*, user: User, pk: int) -> Notification | None:
    return inbox(user=user).filter(pk=pk).first()


def decided_applications(
    *, decided_before: dt.datetime | None = None
) -> QuerySet[Application]:
    """Applications with a decision (for the outcomes dataset)."""
    queryset = Application.objects.filter(decided_at__isnull=False).select_related(
        "enterprise", "product", "lender"
    )
    if decided_before is not None:
        queryset = queryset.filter(decided_at__lt=decided_before)
    return queryset.order_by("decided_at", "pk")


# --- matching selectors (H1) ---
# Matching (``marketplace.matching``): the compact catalogue of listed products, cached
# by a fingerprint of the catalogue; the facts of an enterprise's current score; its
# ranking and the cards a page shows. The imports are inside the functions: this block
# shares the module with the application selectors, and scoring is read only here.

#: How long the compact catalogue stays in the shared cache and in each process. Its
#: key changes with the catalogue (``matching_catalogue_fingerprint``), so this only
#: bounds how long a change made without saving the product (no service does that)
#: could go unseen, and the memory of catalogues no longer current.
MATCHING_CATALOGUE_SECONDS = 10 * 60
#: Raised when ``CatalogueRow`` changes shape, so no process reads another release's.
MATCHING_CATALOGUE_LAYOUT = 1
#: The last catalogue this process built or loaded: (key, catalogue, expires at).
_matching_memo: list[tuple] = []


def matching_catalogue_fingerprint() -> str:
    """What identifies the listed catalogue now, in one aggregate query: how many
    products are listed, the sum of their keys and the newest change to any of them.
    Listing, delisting, editing a product or its districts and industries (the
    services save the product) all change it."""
    from django.db.models import Count, Max, Sum

    from lenders.models import ProductStatus

    row = LoanProduct.objects.filter(status=ProductStatus.LISTED).aggregate(
        count=Count("pk"), keys=Sum("pk"), changed=Max("updated_at")
    )
    changed = row["changed"].timestamp() if row["changed"] else 0
    return (
        f"{MATCHING_CATALOGUE_LAYOUT}:{row['count']}:{row['keys'] or 0}:{changed:.6f}"
    )


def _matching_catalogue_build(fingerprint: str):
    """Three queries whatever the number of products: their rule columns, their
    districts, their industries — tuples, no model instances."""
    from collections import defaultdict

    from django.db.models import BigIntegerField, F
    from django.db.models.functions import Cast, Round

    from lenders.models import LoanProductDistrict, LoanProductIndustry, ProductStatus
    from marketplace.matching import (
        CATALOGUE_COLUMNS,
        CATALOGUE_SCALES,
        Catalogue,
        catalogue_row,
    )

    # The years, amounts and rates as integers, scaled in the database (exact: no
    # column has more decimal places than its scale has zeros).
    columns = [
        Cast(Round(F(name) * CATALOGUE_SCALES[name]), BigIntegerField())
        if name in CATALOGUE_SCALES
        else name
        for name in CATALOGUE_COLUMNS
    ]

    districts: defaultdict[int, list[str]] = defaultdict(list)
    industries: defaultdict[int, list[str]] = defaultdict(list)
    for pk, code in LoanProductDistrict.objects.filter(
        product__status=ProductStatus.LISTED
    ).values_list("product_id", "district"):
        districts[pk].append(code)
    for pk, code in LoanProductIndustry.objects.filter(
        product__status=ProductStatus.LISTED
    ).values_list("product_id", "industry"):
        industries[pk].append(code)
    shared: dict = {}
    rows = tuple(
        catalogue_row(
            values,
            districts=districts.get(values[0], ()),
            industries=industries.get(values[0], ()),
            shared=shared,
        )
        for values in LoanProduct.objects.filter(status=ProductStatus.LISTED)
        .order_by("pk")
        .values_list(*columns)
    )
    return Catalogue(
        fingerprint=fingerprint, rows=rows, by_pk={row.pk: row for row in rows}
    )


def matching_catalogue():
    """The listed products' rule rows (``marketplace.matching.Catalogue``).

    One query (the fingerprint) when this process or the shared cache holds the
    current catalogue, four when it is built; never more, whatever the number of
    products. A cache that cannot be reached is skipped (built from the database).
    """
    import logging
    import time

    from django.core.cache import cache

    logger = logging.getLogger(__name__)
    fingerprint = matching_catalogue_fingerprint()
    key = f"marketplace:catalogue:{fingerprint}"
    now = time.monotonic()
    if _matching_memo and _matching_memo[0][0] == key and _matching_memo[0][2] > now:
        return _matching_memo[0][1]
    try:
        catalogue = cache.get(key)
    except Exception:  # any cache client error: build it instead
        logger.warning("cache unreachable: the matching catalogue is read again")
        catalogue = None
    if catalogue is None:
        catalogue = _matching_catalogue_build(fingerprint)
        try:
            cache.set(key, catalogue, timeout=MATCHING_CATALOGUE_SECONDS)
        except Exception:  # any cache client error: the next request builds again
            logger.warning("cache unreachable: the matching catalogue is not stored")
    _matching_memo[:] = [(key, catalogue, now + MATCHING_CATALOGUE_SECONDS)]
    return catalogue


def matching_catalogue_forget() -> None:
    """Drop this process's copy (tests and benchmarks measure a cold start)."""
    _matching_memo.clear()


def enterprise_match_facts(*, enterprise: Enterprise):
    """The facts the rules are checked against (``matching.EnterpriseFacts``), from
    the enterprise's current score (``scoring.selectors.latest_score``) and its
    feature snapshot; ``None`` when it has no score. Three queries: the score with
    its model, its feature vector, the vector's feature names."""
    from marketplace.matching import LazyReasons, facts_from
    from scoring.selectors import latest_score

    score = latest_score(enterprise_pk=enterprise.pk)
    if score is None:
        return None
    return facts_from(
        grade=score.grade,
        founded_on=enterprise.founded_on,
        district=enterprise.district,
        industry=enterprise.industry,
        features=score.features,
        reasons=LazyReasons(lambda: score.explained_reasons),
        scored_on=score.as_of,
    )


def enterprise_ranking(
    *,
    facts,
    desired_amount=None,
    limit: int | None = None,
    near_limit: int | None = None,
):
    """The listed products the enterprise is eligible for, ranked, and its near
    misses (``matching.Ranking``: the best ``limit`` / ``near_limit`` of each, or
    all; the counts of all), from the cached catalogue."""
    from marketplace.matching import rank

    return rank(
        facts,
        matching_catalogue().rows,
        desired_amount=desired_amount,
        limit=limit,
        near_limit=near_limit,
    )


def match_cards(*, facts, matches, desired_amount=None, first_position=1) -> list:
    """Cards (``matching.MatchCard``) for ``matches`` (a page of a ranking, in its
    order), explained in the active language: one query for the products and their
    banks, whatever their number."""
    from core.labels import label
    from lenders.models import ProductType
    from marketplace.matching import MatchCard, explain

    products = _match_products([match.pk for match in matches])
    return [
        MatchCard(
            product=products[match.pk],
            product_type=label(ProductType, products[match.pk].product_type),
            verdict=explain(facts, match.row, desired_amount=desired_amount),
            match=match,
            position=first_position + index if not match.failed else None,
        )
        for index, match in enumerate(matches)
        if match.pk in products
    ]


def product_match_card(*, facts, product_pk: int):
    """The verdict on one listed product for the enterprise (``MatchCard`` without a
    place; its verdict is ``None`` when ``facts`` is: no score), or ``None`` when
    the product is not listed."""
    from core.labels import label
    from lenders.models import ProductType
    from marketplace.matching import MatchCard, explain

    row = matching_catalogue().by_pk.get(product_pk)
    if row is None:
        return None
    product = _match_products([product_pk]).get(product_pk)
    if product is None:
        return None
    return MatchCard(
        product=product,
        product_type=label(ProductType, product.product_type),
        verdict=None if facts is None else explain(facts, row),
    )


#: What a match card shows of a product and its bank.
MATCH_CARD_FIELDS = (
    "name",
    "name_en",
    "product_type",
    "response_days",
    "lender__name",
    "lender__short_name",
    "lender__organization__name_en",
)


def _match_products(pks: list[int]) -> dict[int, LoanProduct]:
    from lenders.models import ProductStatus

    if not pks:
        return {}
    return {
        product.pk: product
        for product in LoanProduct.objects.filter(
            pk__in=pks, status=ProductStatus.LISTED
        )
        .select_related("lender__organization")
        .only(*MATCH_CARD_FIELDS)
    }


# --- end matching selectors ---


# --- sme selectors (H2) ---
# What the SME's pages show of an application beyond the row itself: its timeline
# (shared with the bank's pages), the bank's questions with the documents sent, the
# reads of the applicant's records under the application's consent, and the
# dashboard's summary. Imports inside the functions: this block shares the module.


def application_timeline(*, application: Application) -> list[dict]:
    """The application's history as the timeline shows it, oldest first: when (the
    template shows it in Asia/Shanghai), which organization acted (the platform's own
    jobs have none), the action's label from the transition table, the state it led
    to, the note. Labels are in the active language. One query."""
    from marketplace import transitions

    entries = []
    for event in application_history(application=application):
        transition = transitions.TRANSITIONS.get(event.action)
        if event.organization is not None:
            organization = event.organization.display_name
        else:
            organization = str(transitions.ROLE_LABELS[transitions.SYSTEM])
        entries.append(
            {
                "at": event.created_at,
                "organization": organization,
                "action": event.action,
                "label": str(transition.label) if transition else event.action,
                "to_status": event.to_status,
                "to_status_label": event.get_to_status_display(),
                "note": event.note,
                "channel": event.channel,
            }
        )
    return entries


def application_information_requests(*, application: Application) -> list:
    """The bank's questions on the application, oldest first, each with its answer
    and the documents sent with it (names and sizes, not the bytes). Two queries."""
    from django.db.models import Prefetch

    from marketplace.models import InformationRequest

    return list(
        InformationRequest.objects.filter(application=application)
        .prefetch_related(
            Prefetch(
                "documents",
                queryset=ApplicationDocument.objects.defer("content").order_by("pk"),
            )
        )
        .order_by("created_at", "pk")
    )


def application_access_log(*, application: Application):
    """Every read of the applicant's records under this application's consent to the
    bank, newest first ("bank X viewed your tax records for application XYD-…");
    empty when the application has no consent."""
    from borrowers.models import DataAccessLog

    if application.authorization_id is None:
        return DataAccessLog.objects.none()
    return (
        DataAccessLog.objects.filter(authorization_id=application.authorization_id)
        .select_related("organization", "actor")
        .order_by("-accessed_at", "-pk")
    )


def enterprise_applications_summary(*, enterprise: Enterprise) -> dict:
    """The dashboard's line on the enterprise's applications, in one query: how many
    are in progress (not closed), how many wait for the SME (a question to answer, an
    offer to accept or decline) and the nearest deadline of the others."""
    from django.db.models import Count, Min, Q

    from marketplace.models import CLOSED_STATES, ApplicationStatus

    sme_turn = [
        ApplicationStatus.DRAFT,
        ApplicationStatus.INFO_REQUESTED,
        ApplicationStatus.COUNTER_OFFERED,
    ]
    row = (
        Application.objects.filter(enterprise=enterprise)
        .exclude(status__in=CLOSED_STATES)
        .aggregate(
            in_progress=Count("pk"),
            your_turn=Count("pk", filter=Q(status__in=sme_turn)),
            next_due=Min("due_at"),
        )
    )
    return {
        "in_progress": row["in_progress"] or 0,
        "your_turn": row["your_turn"] or 0,
        "next_due": row["next_due"],
    }


# --- end sme selectors ---


# --- bank selectors (H3) ---
# What the bank's pages read beyond the lead's ``lender_applications`` /
# ``lender_application`` / ``review_consent``: the queue (drafts are the SME's alone),
# the count of applications waiting on the bank for its portal tab, and the choices of
# the queue's filters. Imports inside the functions: this block shares the module.


def bank_queue(
    *,
    lender: Lender,
    status: str | None = None,
    product_pk: int | None = None,
    district: str | None = None,
    amount_min=None,
    amount_max=None,
) -> QuerySet[Application]:
    """The lender's queue (``lender_applications``: overdue first, then the nearest
    deadline, those without one last), without drafts: an application the SME has
    not sent is not the bank's to see."""
    from marketplace.models import ApplicationStatus

    return lender_applications(
        lender=lender,
        status=status,
        product_pk=product_pk,
        district=district,
        amount_min=amount_min,
        amount_max=amount_max,
    ).exclude(status=ApplicationStatus.DRAFT)


def bank_application(*, lender: Lender, reference: str) -> Application | None:
    """One of the lender's sent applications; ``None`` (a 404) for a draft or for
    another lender's application."""
    from marketplace.models import ApplicationStatus

    application = lender_application(lender=lender, reference=reference)
    if application is None or application.status == ApplicationStatus.DRAFT:
        return None
    return application


def bank_waiting_count(*, lender: Lender) -> int:
    """How many of the lender's applications wait on the bank: those whose response
    clock runs against it (``BANK_TURN_STATES``). One COUNT query."""
    from marketplace.models import BANK_TURN_STATES

    return Application.objects.filter(
        lender=lender, status__in=sorted(BANK_TURN_STATES)
    ).count()


def bank_queue_products(*, lender: Lender) -> list[tuple[int, str]]:
    """The lender's products as the queue's filter offers them: (pk, name in the
    page's language), by code. Every status: a delisted product's applications stay
    in the queue."""
    products = LoanProduct.objects.filter(lender=lender).only("pk", "name", "name_en")
    return [(product.pk, product.display_name) for product in products.order_by("code")]


def bank_queue_districts(*, lender: Lender) -> list[str]:
    """The district codes the lender's branches serve, in the catalogue's order."""
    from core.codes import DISTRICTS

    served: set[str] = set()
    for districts in lender.branches.values_list("districts", flat=True):
        served.update(districts or ())
    return [code for code in DISTRICTS if code in served]


# --- end bank selectors ---


# --- api selectors (H4) ---
# The bank API's reads (``marketplace.api``): one application with everything its
# detail shows, in a fixed number of queries; the records the applicant's consent
# covers are read through ``creditdata.selectors.records_read`` by the view (it
# writes the access log), never here.


def lender_application_detail(*, lender: Lender, reference: str) -> Application | None:
    """``lender_application`` with its questions, their documents (without the file
    bytes) and its history prefetched; ``None`` (a 404) for anyone else's."""
    from django.db.models import Prefetch

    from marketplace.models import InformationRequest

    documents = Prefetch(
        "documents",
        queryset=ApplicationDocument.objects.defer("content").order_by("pk"),
    )
    return (
        _applications()
        .filter(lender=lender, reference=reference)
        .prefetch_related(
            Prefetch(
                "information_requests",
                queryset=InformationRequest.objects.order_by(
                    "created_at", "pk"
                ).prefetch_related(documents),
            ),
            Prefetch(
                "events",
                queryset=ApplicationEvent.objects.order_by("created_at", "pk"),
            ),
        )
        .first()
    )


# --- end api selectors ---


# --- outcome dataset selectors (H5) ---


def outcome_dataset_applications(
    *, decided_before: dt.datetime | None = None
) -> QuerySet[Application]:
    """Decided applications (``decided_applications``) with the history rows that say
    what the bank decided and what it later reported of the loan (``dataset_events``,
    oldest first): the rows of the outcomes dataset, in decision order."""
    from django.db.models import Prefetch

    from marketplace.transitions import DECISIONS

    return decided_applications(decided_before=decided_before).prefetch_related(
        Prefetch(
            "events",
            queryset=ApplicationEvent.objects.filter(
                action__in=sorted({*DECISIONS, "report_repaid", "report_overdue"})
            ).order_by("created_at", "pk"),
            to_attr="dataset_events",
        )
    )


# --- end outcome dataset selectors ---
