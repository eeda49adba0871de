"""The bank API for loan applications: the queue, one application, the applicant's
consent-gated profile and documents, and every bank-side transition.

It follows the products API (``lenders.api``) in everything a bank's system sees:
the same API keys and throttle, scopes ``applications:read`` (GET) and
``applications:write`` (POST), JSON only, cursor pagination, the two error shapes of
``core.api`` and the answers in the client's language. The key's lender, never the
request, decides what exists: another bank's application is a 404 exactly like one
that does not exist, on every endpoint.

Three rules are the marketplace's, not this module's, and the API only transports
them:

* every action is a transition of ``marketplace.transitions.TRANSITIONS``, taken
  through ``services.application_act``: the operations, their request bodies and the
  ``allowed_actions`` of an application are generated from that table, so nothing
  here lists which action is possible in which state;
* the applicant's records and documents are read only while
  ``selectors.review_consent`` returns the application's consent (re-read on every
  request); otherwise the answer is a 404 and nothing is written to the access log;
* a key acts as the bank's administrators (``services.api_actor``), and only while
  the administrator who created it still is one (as for products).

Errors other than a 400 carry a machine-readable ``code`` beside ``detail``
(``transition_not_allowed``, ``stale_version``, ``not_permitted``, ``scope_missing``,
``not_found``…), so a bank's system can tell a stale version from a wrong state.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from borrowers.exceptions import ConsentRequired
from borrowers.models import AccessChannel, ConsentPurpose, CreditAuthorization
from core.api import (
    AutoSchema,
    SafeJSONParser,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictIntegerField,
)
from core.codes import DISTRICTS, INDUSTRIES, Category
from core.fields import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, PERCENT_MAX_DIGITS
from core.labels import label
from core.middleware import request_id_of
from creditdata.categories import RECORD_FIELDS, serialize_value
from creditdata.selectors import records_read
from lenders.api import (
    ApiKeyRateThrottle,
    ClientLanguageMixin,
    HasScope,
    ProductCursorPagination,
    request_lender,
)
from lenders.apikeys import ApiKeyAuthentication
from lenders.lifecycle import LENDER_ADMIN
from lenders.models import ApiKey, Lender
from lenders.services import actor_role
from marketplace import selectors, services, transitions
from marketplace.exceptions import (
    InvalidApplication,
    MarketplaceError,
    NotPermitted,
    StaleVersion,
    TransitionNotAllowed,
)
from marketplace.models import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    ApplicationStatus,
    RejectionReason,
)

READ_SCOPE = "applications:read"
WRITE_SCOPE = "applications:write"
#: The query parameters of the list (besides the cursor and the page size).
FILTERS = (
    "status",
    "product",
    "district",
    "amount_min",
    "amount_max",
    "updated_since",
)
#: A reference as the path accepts it: anything else in the path (a NUL, a slash) is
#: the API's JSON 404 from the URL resolver, never a database error. References are
#: ``XYD-YYYY-NNNNNN``; a near miss still reaches the view (and its 404).
REFERENCE_PATTERN = r"[-A-Za-z0-9]+"
#: Document keys of at most 18 digits: always an integer the database can compare.
DOCUMENT_PK_PATTERN = r"[0-9]{1,18}"
DOCUMENT_PK_MAX = 10**18 - 1
REASON_LIMIT = len(RejectionReason.values)


# --- Errors ------------------------------------------------------------------------------


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The application is not in a state that allows this.")
    default_code = "transition_not_allowed"


def _field_errors(errors: dict[str, list[str]]) -> ValidationError:
    """The services' field errors as DRF's (``__all__`` → ``non_field_errors``)."""
    errors = dict(errors)
    if NON_FIELD_ERRORS in errors:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
    return ValidationError(errors)


def _error_code(exc: Exception) -> str:
    """The machine-readable code of an error that is not a 400."""
    if isinstance(exc, APIException):
        codes = exc.get_codes()
        if isinstance(codes, str):
            return codes
        return exc.default_code
    return "not_found"  # Django's Http404, the only other error that gets here


class ApplicationScope(HasScope):
    """``HasScope``, with a code saying why a request was refused: a key without the
    scope (``scope_missing``) or a session user who is not a bank's (``not_permitted``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        allowed = super().has_permission(request, view)
        if not allowed:
            self.code = (
                "scope_missing" if isinstance(request.auth, ApiKey) else "not_permitted"
            )
        return allowed


class ErrorWithCodeSerializer(serializers.Serializer):
    """Every error but a 400 on the applications endpoints: what went wrong, in the
    client's language, and a code to match on."""

    detail = serializers.CharField()
    code = serializers.CharField(
        help_text="Machine-readable: `transition_not_allowed` (the application's "
        "status does not allow the action), `stale_version` (the `version` sent is "
        "not the application's), `not_permitted`, `scope_missing`, `not_found`, "
        "`unknown_action`, `not_authenticated`, `authentication_failed`, "
        "`throttled`, `not_acceptable`, `unsupported_media_type`, "
        "`method_not_allowed`."
    )

    class Meta:
        ref_name = "ErrorWithCode"


class ApplicationAutoSchema(AutoSchema):
    """``core.api.AutoSchema``, documenting the errors with their ``code`` and the
    list's 400 with its filters as keys."""

    def _validated_query_names(self) -> list[str]:
        names = super()._validated_query_names()
        return [*FILTERS, *names] if self._is_list_view() else names

    def _error_responses(self) -> dict[int, OpenApiResponse]:
        return {
            code: (
                response
                if code == 400
                else OpenApiResponse(
                    ErrorWithCodeSerializer, description=response.description
                )
            )
            for code, response in super()._error_responses().items()
        }


# --- Request fields ----------------------------------------------------------------------


class StrictDateField(serializers.DateField):
    """A JSON string ``YYYY-MM-DD`` only (DRF would also take ``2026-1-5``, which the
    schema's ``format: date`` does not allow)."""

    shape = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str) or not self.shape.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        try:
            parsed = parse_date(value)
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid", format="YYYY-MM-DD")
        assert parsed is not None  # fail() raises
        return parsed


class StrictDateTimeField(serializers.DateTimeField):
    """An RFC 3339 date-time with its offset (``2026-03-01T08:00:00+08:00`` or ``…Z``),
    as the schema's ``format: date-time`` says; one that cannot be compared in UTC
    (year 1 at +08:00) is refused, not a database error."""

    shape = re.compile(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
        r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
    )
    default_error_messages = {
        "invalid": gettext_lazy(
            "Give a date and time with its offset, for example "
            "“2026-03-01T08:00:00+08:00”."
        ),
    }

    def to_internal_value(self, value: Any) -> dt.datetime:
        if not isinstance(value, str) or not self.shape.fullmatch(value):
            self.fail("invalid")
        try:
            parsed = parse_datetime(value)
            if parsed is None:
                raise ValueError
            return parsed.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            self.fail("invalid")
        raise AssertionError("unreachable: fail() raises")  # pragma: no cover


class StrictRegexField(StrictCharField, serializers.RegexField):
    """A JSON string only, matching ``regex`` (the schema's ``pattern``)."""


def _money(**kwargs: Any) -> StrictDecimalField:
    return StrictDecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs
    )


def _action_fields(transition: transitions.Transition) -> dict[str, serializers.Field]:
    """The body of a transition, from what the table says it needs."""
    needs = transition.needs
    fields: dict[str, serializers.Field] = {}
    if transitions.NEEDS_QUESTION in needs:
        fields["question"] = StrictCharField(
            max_length=2000, help_text="What the bank asks the applicant for."
        )
    if transitions.NEEDS_OFFER in needs:
        fields["amount"] = _money(help_text="CNY, within the product's amount range.")
        fields["rate"] = StrictDecimalField(
            max_digits=PERCENT_MAX_DIGITS,
            decimal_places=2,
            help_text="Annual rate in percent, within the product's rate range.",
        )
        fields["term"] = StrictIntegerField(
            min_value=1,
            max_value=360,
            help_text="Months, within the product's term range.",
        )
    if transitions.NEEDS_REASONS in needs:
        fields["reasons"] = serializers.ListField(
            child=StrictChoiceField(choices=RejectionReason.choices),
            allow_empty=False,
            min_length=1,
            max_length=REASON_LIMIT,
            help_text="At least one reason code; the applicant reads their labels "
            "in their language.",
        )
    if transitions.NEEDS_DISBURSEMENT in needs:
        fields["amount"] = _money(
            help_text="CNY paid out: at most the amount approved."
        )
        fields["disbursed_on"] = StrictDateField(
            help_text="The day the money was paid out (not before the approval, "
            "not in the future)."
        )
    if transitions.NEEDS_REPAYMENT in needs:
        fields["repaid_on"] = StrictDateField(
            help_text="The day the loan was repaid in full (not before the "
            "disbursement, not in the future)."
        )
    if transitions.NEEDS_ARREARS in needs:
        fields["days_past_due"] = StrictIntegerField(
            min_value=1, max_value=3650, help_text="Days the repayment is late."
        )
    note_required = transitions.NEEDS_NOTE in needs
    fields["note"] = StrictCharField(
        max_length=services.NOTE_MAX_CHARS,
        required=note_required,
        allow_blank=not note_required,
        help_text=(
            "The note to the applicant (required)."
            if note_required
            else "An optional note, kept in the application's history."
        ),
    )
    fields["version"] = StrictIntegerField(
        min_value=1,
        required=False,
        help_text="The `version` you last read: if the application changed since, "
        "nothing is done and the answer is 409 `stale_version`.",
    )
    return fields


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def action_request_serializer(
    transition: transitions.Transition,
) -> type[serializers.Serializer]:
    """The request body of one action, as a serializer class named for it."""
    name = f"{_camel(transition.action)}Action"
    attributes: dict[str, Any] = {
        **_action_fields(transition),
        "Meta": type("Meta", (), {"ref_name": name}),
        "__doc__": f"The body of `{transition.action}`.",
        "__module__": __name__,
    }
    return type(f"{name}Serializer", (serializers.Serializer,), attributes)


class ApplicationFilterSerializer(serializers.Serializer):
    """The list's filters; a value that is not valid is a 400 naming the parameter,
    never ignored."""

    status = StrictChoiceField(
        choices=ApplicationStatus.choices, required=False, help_text="Its status."
    )
    product = StrictRegexField(
        r"^[-a-zA-Z0-9_]+$",
        max_length=50,
        required=False,
        help_text="The code of one of your products.",
    )
    district = StrictChoiceField(
        choices=list(DISTRICTS.items()),
        required=False,
        help_text="The applicant's district (code).",
    )
    amount_min = _money(
        required=False, help_text="Requested amount at least this (CNY)."
    )
    amount_max = _money(
        required=False, help_text="Requested amount at most this (CNY)."
    )
    updated_since = StrictDateTimeField(
        required=False,
        help_text="Changed at or after this instant (RFC 3339, with its offset): "
        "what a bank's system syncs since its last run.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("amount_min"), attrs.get("amount_max")
        if low is not None and high is not None and high < low:
            raise ValidationError(
                {"amount_max": [_("The maximum must not be below the minimum.")]}
            )
        return attrs


# --- Response serializers ----------------------------------------------------------------


class EnterpriseReferenceSerializer(serializers.Serializer):
    name = serializers.CharField()
    uscc = serializers.CharField(help_text="Unified social credit code.")

    class Meta:
        ref_name = "ApplicantReference"


class ReasonSerializer(serializers.Serializer):
    """One reason of the frozen score, in both languages (as a product's name)."""

    factor = serializers.CharField(help_text="The reason's factor code.")
    feature = serializers.CharField(help_text="The feature that weighs most in it.")
    contribution = serializers.FloatField(
        help_text="Its contribution to the log-odds (positive raises the risk)."
    )
    factor_zh = serializers.CharField()
    factor_en = serializers.CharField()
    text_zh = serializers.CharField()
    text_en = serializers.CharField()

    class Meta:
        ref_name = "ScoreReason"


class ScoreSnapshotSerializer(serializers.Serializer):
    """The score the applicant applied with, frozen at submission: a model promoted
    or a rescoring later never changes it."""

    model_version = serializers.CharField(source="snapshot_model_version")
    score = serializers.FloatField(source="snapshot_score", allow_null=True)
    pd = serializers.FloatField(
        source="snapshot_pd", allow_null=True, help_text="Probability of default."
    )
    grade = serializers.CharField(source="snapshot_grade", help_text="A, B, C or D.")
    as_of = serializers.DateField(source="snapshot_as_of", allow_null=True)
    reasons = ReasonSerializer(source="snapshot_reasons", many=True)

    class Meta:
        ref_name = "ScoreSnapshot"


class CodeLabelSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField(help_text="In the client's language.")

    class Meta:
        ref_name = "RejectionReason"


class DecisionSerializer(serializers.Serializer):
    decided_at = serializers.DateTimeField()
    offered_amount = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=2, allow_null=True
    )
    offered_rate = serializers.DecimalField(
        max_digits=PERCENT_MAX_DIGITS, decimal_places=2, allow_null=True
    )
    offered_term = serializers.IntegerField(allow_null=True)
    rejection_reasons = serializers.SerializerMethodField()
    note = serializers.CharField(source="decision_note")

    class Meta:
        ref_name = "Decision"

    @extend_schema_field(CodeLabelSerializer(many=True))
    def get_rejection_reasons(self, application: Application) -> list[dict[str, str]]:
        return [
            {"code": code, "label": label(RejectionReason, code)}
            for code in application.rejection_reasons
        ]


class OutcomeSerializer(serializers.Serializer):
    disbursed_amount = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    disbursed_on = serializers.DateField()
    repaid_on = serializers.DateField(allow_null=True)
    days_past_due = serializers.IntegerField(allow_null=True)
    reported_on = serializers.DateField(source="outcome_reported_on", allow_null=True)

    class Meta:
        ref_name = "Outcome"


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    uploaded_at = serializers.DateTimeField(source="created_at")
    url = serializers.SerializerMethodField(
        help_text="Where to fetch the file (while the consent is in force)."
    )

    class Meta:
        ref_name = "ApplicationDocument"

    def get_url(self, document: ApplicationDocument) -> str:
        request = self.context.get("request")
        reference = self.context["reference"]
        path = f"/api/v1/applications/{reference}/documents/{document.pk}/"
        return request.build_absolute_uri(path) if request else path


class InformationRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    question = serializers.CharField()
    asked_at = serializers.DateTimeField(source="created_at")
    answer = serializers.CharField(help_text='"" until the applicant answers.')
    answered_at = serializers.DateTimeField(allow_null=True)
    documents = DocumentSerializer(many=True)

    class Meta:
        ref_name = "InformationRequest"


class EventSerializer(serializers.Serializer):
    """One transition of the application's history."""

    action = serializers.CharField()
    from_status = serializers.CharField(help_text='"" for the submission.')
    to_status = serializers.CharField()
    version = serializers.IntegerField()
    at = serializers.DateTimeField(source="created_at")
    by = serializers.SerializerMethodField(
        help_text="`applicant`, `bank`, `platform` or `system`."
    )
    channel = serializers.CharField(help_text="`web`, `api` or `system`.")
    note = serializers.CharField()

    class Meta:
        ref_name = "ApplicationEvent"

    def get_by(self, event: ApplicationEvent) -> str:
        application = self.context["application"]
        if event.organization_id is None:
            return "system"
        if event.organization_id == application.enterprise.organization_id:
            return "applicant"
        if event.organization_id == application.lender.organization_id:
            return "bank"
        return "platform"


class ApplicationSummarySerializer(serializers.ModelSerializer):
    """An application as the list shows it."""

    product = serializers.CharField(source="product.code", help_text="Its code.")
    product_name = serializers.CharField(source="product.name")
    enterprise = EnterpriseReferenceSerializer()
    grade = serializers.CharField(
        source="snapshot_grade", help_text="The frozen score's grade."
    )

    class Meta:
        model = Application
        ref_name = "ApplicationSummary"
        fields: tuple[str, ...] = (
            "reference",
            "status",
            "version",
            "product",
            "product_name",
            "enterprise",
            "district",
            "requested_amount",
            "requested_term",
            "currency",
            "grade",
            "submitted_at",
            "due_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class ApplicationSerializer(ApplicationSummarySerializer):
    """An application with everything the bank may see without reading records."""

    paused_seconds_left = serializers.SerializerMethodField(
        help_text="While the bank waits for the applicant's answer its deadline "
        "(`due_at`) is null: the seconds it will have again once the answer "
        "comes; null otherwise."
    )
    score = ScoreSnapshotSerializer(source="*")
    decision = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()
    information_requests = InformationRequestSerializer(many=True)
    history = EventSerializer(source="events", many=True)
    allowed_actions = serializers.SerializerMethodField(
        help_text="The actions this key (or user) may take now, from the "
        "transition table: `POST …/actions/{action}/`."
    )

    class Meta(ApplicationSummarySerializer.Meta):
        ref_name = "Application"
        fields = (
            *ApplicationSummarySerializer.Meta.fields,
            "purpose",
            "paused_seconds_left",
            "score",
            "decision",
            "outcome",
            "information_requests",
            "history",
            "allowed_actions",
        )
        read_only_fields = fields

    def get_paused_seconds_left(self, application: Application) -> int | None:
        if application.paused_remaining is None:
            return None
        return int(application.paused_remaining.total_seconds())

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, application: Application) -> dict[str, Any] | None:
        if application.decided_at is None:
            return None
        return DecisionSerializer(application, context=self.context).data

    @extend_schema_field(OutcomeSerializer(allow_null=True))
    def get_outcome(self, application: Application) -> dict[str, Any] | None:
        if application.disbursed_on is None:
            return None
        return OutcomeSerializer(application, context=self.context).data

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=transitions.BANK_ACTIONS)
        )
    )
    def get_allowed_actions(self, application: Application) -> list[str]:
        roles: frozenset[str] = self.context.get("roles", frozenset())
        return [
            transition.action
            for transition in transitions.allowed_transitions(application.status, roles)
            if transition.action in transitions.BANK_ACTIONS
        ]


class EnterpriseFactsSerializer(serializers.Serializer):
    name = serializers.CharField()
    uscc = serializers.CharField()
    legal_representative = serializers.CharField()
    registered_capital = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=2
    )
    currency = serializers.CharField()
    founded_on = serializers.DateField()
    industry = serializers.ChoiceField(choices=list(INDUSTRIES.items()))
    district = serializers.ChoiceField(choices=list(DISTRICTS.items()))
    employees = serializers.IntegerField()

    class Meta:
        ref_name = "ApplicantFacts"


class ConsentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    purpose = serializers.CharField()
    scope = serializers.ListField(child=serializers.CharField())
    granted_at = serializers.DateTimeField()
    valid_to = serializers.DateTimeField()

    class Meta:
        ref_name = "ApplicationConsent"


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "One record in the provider's wire format: `id`, `category`, "
        "the category's fields (decimals as strings, months `YYYY-MM`, dates "
        "`YYYY-MM-DD`), `source` and `fetched_at`.",
    }
)
class RecordField(serializers.JSONField):
    pass


class CategoryRecordsSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Category.choices)
    label = serializers.CharField(help_text="In the client's language.")
    records = serializers.ListField(child=RecordField())

    class Meta:
        ref_name = "CategoryRecords"


class ProfileSerializer(serializers.Serializer):
    """The applicant as the consent lets the bank see it, read now."""

    reference = serializers.CharField()
    consent = ConsentSerializer()
    enterprise = EnterpriseFactsSerializer()
    score = ScoreSnapshotSerializer()
    categories = CategoryRecordsSerializer(many=True)

    class Meta:
        ref_name = "ApplicantProfile"


def record_wire(category: str, values: dict[str, Any]) -> dict[str, Any]:
    """A stored record in the provider's wire format (``creditdata.categories``)."""
    record: dict[str, Any] = {"id": values["source_id"], "category": category}
    for spec in RECORD_FIELDS[category]:
        record[spec.name] = serialize_value(spec, values.get(spec.name))
    record["source"] = values["source"]
    record["fetched_at"] = values["fetched_at"].isoformat()
    return record


# --- Schema texts --------------------------------------------------------------------------

NOT_FOUND = OpenApiResponse(
    ErrorWithCodeSerializer,
    description="No such application (or another bank's): `not_found`.",
)
GATED_NOT_FOUND = OpenApiResponse(
    ErrorWithCodeSerializer,
    description="No such application (or another bank's), or the bank may not "
    "read the applicant's data now: the application left the review (a decision, "
    "a withdrawal) or its consent was revoked or expired. Nothing is logged.",
)
ACTION_CONFLICT = OpenApiResponse(
    ErrorWithCodeSerializer,
    description="`transition_not_allowed`: the application's status does not allow "
    "the action; `stale_version`: the `version` sent is not the application's. "
    "Nothing was changed.",
)
ACTION_FORBIDDEN = OpenApiResponse(
    ErrorWithCodeSerializer,
    description="`scope_missing`: the key lacks `applications:write`; "
    "`not_permitted`: the key's creator is no longer an administrator of the bank, "
    "or the signed-in user's role may not take the action.",
)
ACTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "accept": {"note": "已受理"},
    "start_review": {"version": 2},
    "request_info": {"question": "请提供近三个月的银行流水。", "version": 3},
    "approve": {"amount": "500000.00", "rate": "4.35", "term": 12, "version": 3},
    "counter_offer": {"amount": "300000.00", "rate": "4.80", "term": 12},
    "reject": {"reasons": ["credit_grade"], "note": "信用等级低于产品要求。"},
    "disburse": {"amount": "500000.00", "disbursed_on": "2026-03-02"},
    "report_repaid": {"repaid_on": "2027-03-01"},
    "report_overdue": {"days_past_due": 30},
}


def _action_description(transition: transitions.Transition) -> str:
    sources = ", ".join(f"`{source}`" for source in sorted(transition.sources))
    return (
        f"From {sources} to `{transition.target}`; the bank's webhook then receives "
        f"`{transition.event_type}`. Answers the application as it is after the "
        "action. A body that breaks a rule of the product (an amount outside its "
        "range, more disbursed than approved, a date in the future) is a 400 "
        "naming the field, and nothing is changed."
    )


# --- Views -------------------------------------------------------------------------------


class ApplicationCursorPagination(ProductCursorPagination):
    """Newest first, by creation (which never changes, so a bank paging through its
    applications while they move sees none twice and skips none)."""

    page_size_message = gettext_lazy(
        "Must be a whole number of at least 1 (a page holds at most %(max)s "
        "applications)."
    )

    def get_page_size(self, request: Request) -> int:
        try:
            return super().get_page_size(request)
        except ValidationError:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        self.page_size_message % {"max": self.max_page_size}
                    ]
                }
            ) from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = parameter["description"].replace(
                    "Products", "Applications"
                )
        return parameters


def _client_ip(request: Request) -> str | None:
    """The address the request came from (the one the proxy in front passes on as
    REMOTE_ADDR), for the history."""
    return request.META.get("REMOTE_ADDR") or None


@extend_schema_view(
    list=extend_schema(
        operation_id="applications_list",
        summary="List the bank's applications",
        description="Newest first, a page at a time; the filters combine. A filter "
        "value that is not valid is a 400 naming it.",
        parameters=[ApplicationFilterSerializer],
        responses={200: ApplicationSummarySerializer},
    ),
    retrieve=extend_schema(
        operation_id="applications_retrieve",
        summary="Get one application",
        responses={200: ApplicationSerializer, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["applications"])
class ApplicationViewSet(
    ClientLanguageMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The authenticated bank's loan applications and its side of their transitions."""

    serializer_class = ApplicationSerializer
    lookup_field = "reference"
    lookup_value_regex = REFERENCE_PATTERN
    authentication_classes = (ApiKeyAuthentication, SessionAuthentication)
    permission_classes = (ApplicationScope,)
    throttle_classes = (ApiKeyRateThrottle,)
    parser_classes = (SafeJSONParser,)
    renderer_classes = (JSONRenderer,)
    pagination_class = ApplicationCursorPagination
    schema = ApplicationAutoSchema()
    required_scopes: ClassVar[dict[str, str]] = {
        "GET": READ_SCOPE,
        "POST": WRITE_SCOPE,
    }

    @cached_property
    def lender(self) -> Lender | None:
        return request_lender(self.request)

    # --- who is asking ---------------------------------------------------------------

    def _key(self) -> ApiKey | None:
        auth = self.request.auth
        return auth if isinstance(auth, ApiKey) else None

    def _key_may_act(self, key: ApiKey) -> bool:
        """A key acts as its bank's administrators while its creator is one."""
        assert self.lender is not None
        return actor_role(user=key.created_by, lender=self.lender) == LENDER_ADMIN

    def _roles(self, application: Application) -> frozenset[str]:
        key = self._key()
        if key is not None:
            if not self._key_may_act(key) or WRITE_SCOPE not in key.scopes:
                return frozenset()
            return frozenset({transitions.BANK_ADMIN})
        roles = services.application_roles(
            user=self.request.user, application=application
        )
        return roles & transitions.BANK_ROLES

    def _actor(self, application: Application) -> services.Actor:
        key = self._key()
        if key is None:
            actor = services.user_actor(
                user=self.request.user,
                application=application,
                ip_address=_client_ip(self.request),
            )
            # A bank's API acts for the bank: whatever else the user is to the
            # application, only their roles at the bank count here.
            roles = actor.roles & transitions.BANK_ROLES
            return services.Actor(
                user=actor.user,
                organization=application.lender.organization if roles else None,
                roles=roles,
                ip_address=actor.ip_address,
                channel="api",
            )
        if not self._key_may_act(key):
            raise NotPermitted(
                _(
                    "The administrator who created this API key no longer is one: "
                    "the key may only read."
                )
            )
        assert self.lender is not None
        return services.api_actor(
            lender_organization=self.lender.organization,
            key_prefix=key.prefix,
            ip_address=_client_ip(self.request),
        )

    # --- reads ----------------------------------------------------------------------

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.lender is None:
            return Application.objects.none()
        filters = self._filters()
        product_pk = None
        if "product" in filters:
            product = self.lender.products.filter(code=filters["product"]).first()
            if product is None:
                raise ValidationError(
                    {"product": [_("You have no product with this code.")]}
                )
            product_pk = product.pk
        queryset = selectors.lender_applications(
            lender=self.lender,
            status=filters.get("status"),
            product_pk=product_pk,
            district=filters.get("district"),
            amount_min=filters.get("amount_min"),
            amount_max=filters.get("amount_max"),
        )
        if "updated_since" in filters:
            queryset = queryset.filter(updated_at__gte=filters["updated_since"])
        return queryset

    def _filters(self) -> dict[str, Any]:
        """The list's query parameters, checked: each at most once, each valid."""
        query = self.request.query_params
        repeated = {
            name: [_("Give this filter once.")]
            for name in FILTERS
            if len(query.getlist(name)) > 1
        }
        if repeated:
            raise ValidationError(repeated)
        # A plain dict, not the QueryDict: DRF reads an empty query value as "not
        # given", and an empty filter is refused here like any other invalid one.
        data = {name: query[name] for name in FILTERS if name in query}
        serializer = ApplicationFilterSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def get_serializer_class(self) -> type[serializers.Serializer]:
        if self.action == "list":
            return ApplicationSummarySerializer
        return ApplicationSerializer

    def get_object(self) -> Application:
        application = None
        if self.lender is not None:
            application = selectors.lender_application_detail(
                lender=self.lender, reference=self.kwargs["reference"]
            )
        if application is None:
            raise NotFound()
        return application

    def _detail(self, application: Application) -> Response:
        context = {
            **self.get_serializer_context(),
            "application": application,
            "reference": application.reference,
            "roles": self._roles(application),
        }
        return Response(ApplicationSerializer(application, context=context).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(self.get_object())

    def _consented(self) -> tuple[Application, CreditAuthorization]:
        """The application and the consent the bank reads it under now, else 404."""
        application = self.get_object()
        authorization = selectors.review_consent(application=application)
        if authorization is None:
            raise NotFound()
        return application, authorization

    @extend_schema(
        operation_id="applications_profile",
        summary="The applicant's profile, as the consent allows",
        description="The enterprise's facts, the frozen score and the records of "
        "every data category the application's consent covers, read now: each "
        "category read is written to the applicant's access log (the SME sees "
        "which bank read what, for which application). Only while the application "
        "is in review and its consent in force; otherwise 404 and nothing is logged.",
        responses={200: ProfileSerializer, 404: GATED_NOT_FOUND},
    )
    @action(detail=True, methods=["get"])
    def profile(self, request: Request, reference: str | None = None) -> Response:
        application, authorization = self._consented()
        key = self._key()
        request_id = request_id_of(request._request)
        categories = [
            category for category in Category.values if category in authorization.scope
        ]
        groups = []
        try:
            # One transaction: if the consent ends between two categories, the
            # answer is a 404 and the reads already logged are undone with it.
            with transaction.atomic():
                for category in categories:
                    queryset = records_read(
                        enterprise=application.enterprise,
                        category=category,
                        user=None if key is not None else request.user,
                        organization=application.lender.organization,
                        purpose=ConsentPurpose.LOAN_REVIEW,
                        channel=AccessChannel.API,
                        request_id=request_id,
                        authorization=authorization,
                    )
                    model = queryset.model
                    names = [spec.name for spec in RECORD_FIELDS[category]]
                    ordering = [*(model._meta.ordering or ()), "pk"]
                    rows = queryset.order_by(*ordering).values(
                        "source", "source_id", "fetched_at", *names
                    )
                    groups.append(
                        {
                            "category": category,
                            "label": label(Category, category),
                            "records": [record_wire(category, row) for row in rows],
                        }
                    )
        except ConsentRequired:
            raise NotFound() from None
        data = {
            "reference": application.reference,
            "consent": authorization,
            "enterprise": application.enterprise,
            "score": application,
            "categories": groups,
        }
        return Response(ProfileSerializer(data).data)

    @extend_schema(
        operation_id="applications_document",
        summary="A file the applicant sent with an answer",
        description="The file itself (`Content-Disposition: attachment`), under the "
        "same rule as the profile: only while the application is in review and its "
        "consent in force; otherwise 404.",
        parameters=[
            OpenApiParameter(
                "document_pk",
                {"type": "integer", "minimum": 1, "maximum": DOCUMENT_PK_MAX},
                OpenApiParameter.PATH,
                description="The document's `id` (in `information_requests`).",
            )
        ],
        responses={
            (200, media_type): OpenApiResponse(OpenApiTypes.BINARY)
            for media_type in services.DOCUMENT_TYPES
        }
        | {404: GATED_NOT_FOUND},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=rf"documents/(?P<document_pk>{DOCUMENT_PK_PATTERN})",
        url_name="document",
    )
    def document(
        self,
        request: Request,
        reference: str | None = None,
        document_pk: str | None = None,
    ) -> HttpResponse:
        application, _authorization = self._consented()
        document = selectors.application_document(
            application=application, pk=int(document_pk or 0)
        )
        if document is None:
            raise NotFound()
        response = HttpResponse(
            bytes(document.content), content_type=document.content_type
        )
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=True, filename=document.filename)
            or "attachment"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False):
        """The document is a file whatever ``Accept`` says (its errors are JSON)."""
        if getattr(self, "action", None) == "document":
            force = True
        return super().perform_content_negotiation(request, force=force)

    # --- writes ---------------------------------------------------------------------

    def _act(self, action_name: str, serializer_class: type[serializers.Serializer]):
        application = self.get_object()
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        payload = dict(serializer.validated_data)
        version = payload.pop("version", None)
        services.application_act(
            application=application,
            action=action_name,
            actor=self._actor(application),
            expected_version=version,
            **payload,
        )
        return self._detail(self.get_object())

    def handle_exception(self, exc: Exception) -> Response:
        """The marketplace's errors as DRF's, and a ``code`` on every non-400 body."""
        if isinstance(exc, InvalidApplication):
            exc = _field_errors(exc.errors)
        elif isinstance(exc, NotPermitted):
            exc = PermissionDenied(exc.message, code=exc.code)
        elif isinstance(exc, TransitionNotAllowed | StaleVersion):
            exc = Conflict(exc.message, code=exc.code)
        elif isinstance(exc, MarketplaceError):
            exc = ValidationError(
                {exc.field or api_settings.NON_FIELD_ERRORS_KEY: [exc.message]}
            )
        response = super().handle_exception(exc)
        data = response.data
        if (
            response.status_code != status.HTTP_400_BAD_REQUEST
            and isinstance(data, dict)
            and list(data) == ["detail"]
        ):
            data["code"] = _error_code(exc)
        return response


@csrf_exempt  # it changes nothing; a POST to an unknown action is a 404, not a 403
def application_path_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other path under ``/api/v1/applications/`` (an action the table does not
    give banks, a reference that is not one): the API's 404, with its code."""
    language = translation.get_language_from_request(request, check_path=False)
    code = "unknown_action" if "/actions/" in f"/{path}" else "not_found"
    with translation.override(language):
        return JsonResponse(
            {"detail": str(NotFound.default_detail), "code": code},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )


def _action_method(
    transition: transitions.Transition,
) -> Callable[..., Response]:
    """The view method of one bank action: ``POST …/actions/<action>/``."""
    name = transition.action
    serializer_class = action_request_serializer(transition)

    def act(
        self: ApplicationViewSet, request: Request, reference: str | None = None
    ) -> Response:
        return self._act(name, serializer_class)

    act.__name__ = f"action_{name}"
    act.__doc__ = f"Take the action `{name}`."
    examples = []
    if name in ACTION_EXAMPLES:
        examples.append(
            OpenApiExample(
                str(transition.label), value=ACTION_EXAMPLES[name], request_only=True
            )
        )
    routed = action(
        detail=True,
        methods=["post"],
        url_path=f"actions/{name}",
        url_name=f"action-{name.replace('_', '-')}",
    )(act)
    # After ``action``, as on the products' actions: drf-spectacular reads the
    # schema from what the router routes.
    return extend_schema(
        operation_id=f"applications_{name}",
        summary=transition.label,
        description=_action_description(transition),
        request=serializer_class,
        responses={
            200: ApplicationSerializer,
            403: ACTION_FORBIDDEN,
            404: NOT_FOUND,
            409: ACTION_CONFLICT,
        },
        examples=examples,
    )(routed)


# One operation per bank action of the table, so each has its own documented body.
for _name in transitions.BANK_ACTIONS:
    setattr(
        ApplicationViewSet,
        f"action_{_name}",
        _action_method(transitions.TRANSITIONS[_name]),
    )
del _name
