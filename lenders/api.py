"""The bank API: lenders manage their loan products from their own systems.

Banks integrate with API keys (``lenders.apikeys``): ``Authorization: Bearer xyd_…``
or ``X-Api-Key: xyd_…``. A key belongs to one lender and carries scopes; the key's
lender, never anything in the request, decides which products are visible, so another
bank's product is simply not found (404, never 403, which would confirm it exists).
A lender administrator signed in to the portal may use the same endpoints with the
session; scopes do not apply to sessions, the services' role checks do.

Every write goes through ``lenders.services``: the API is a transport, not a second
set of rules. A change to a listed product's reviewed terms is not applied: it is a
pending revision the platform reviews, answered ``202`` with the revision (the
product keeps its listed terms until then; ``latest_revision`` shows it). Domain errors become HTTP answers here: ``InvalidProduct`` → 400 with
field errors, ``NotPermitted`` → 403, ``TransitionNotAllowed`` → 409. The bodies of
those answers, and their place in the OpenAPI schema, are ``core.api``'s (one shape for
a 400, one for everything else); docs/api.md is the integrators' description.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.templatetags.static import static
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.api import (
    ErrorSerializer,
    SafeJSONParser,
    StrictCharField,
    StrictModelSerializer,
)
from core.codes import DISTRICTS, INDUSTRIES, Category
from lenders.apikeys import ApiKeyAuthentication
from lenders.exceptions import InvalidProduct, NotPermitted, TransitionNotAllowed
from lenders.models import ApiKey, Lender, LoanProduct, LoanProductRevision
from lenders.selectors import lender_for_user, with_latest_revision
from lenders.services import (
    PRODUCT_FIELDS,
    REVIEWED_TERMS,
    ProductChange,
    product_create,
    product_transition,
    product_update,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


# --- Authentication -------------------------------------------------------------------
# The authentication class itself is ``lenders.apikeys.ApiKeyAuthentication``: the
# schema view's settings (SPECTACULAR_SETTINGS["SERVE_AUTHENTICATION"]) import it while
# drf_spectacular.views is still loading, so it must not live next to the docs view.


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the key in the OpenAPI schema: bearer header or ``X-Api-Key``.

    Two names with an OR requirement, because a client sends one header or the other,
    never both.
    """

    target_class = "lenders.apikeys.ApiKeyAuthentication"
    name = ["bankApiKey", "bankApiKeyHeader"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list]]:
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        description = _("A bank API key, shown once when an administrator creates it.")
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "xyd_<prefix>_<secret>",
                "description": description,
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Api-Key",
                "description": description,
            },
        ]


def request_lender(request: Request) -> Lender | None:
    """The lender a request acts for: the key's lender, else the user's bank."""
    if isinstance(request.auth, ApiKey):
        return request.auth.lender
    if request.user and request.user.is_authenticated:
        return lender_for_user(user=request.user)
    return None


# --- Permissions and throttling --------------------------------------------------------


class HasScope(BasePermission):
    """An API key must hold the scope the view requires for the HTTP method.

    The view declares ``required_scopes = {"GET": "products:read", ...}``. A method it
    handles but does not list is refused (fail closed), so adding a method can never
    open a write to a read-only key by accident. Session users need no scope, but must belong to a
    bank, because every endpoint here is about the bank's own products.
    """

    message: str | _StrPromise = gettext_lazy(
        "You do not have permission to perform this action."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not hasattr(view, (request.method or "").lower()):
            # The view does not handle the method at all: let it answer 405, which is
            # the truth, rather than a 403 that suggests another key could do it.
            return True
        if isinstance(request.auth, ApiKey):
            scopes: dict[str, str] = getattr(view, "required_scopes", {})
            method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
            required = scopes.get(method or "")
            if required is None:
                self.message = _("This API key may not use %(method)s here.") % {
                    "method": request.method
                }
                return False
            if required not in request.auth.scopes:
                self.message = _("This API key lacks the scope “%(scope)s”.") % {
                    "scope": required
                }
                return False
            return True
        if request_lender(request) is None:
            self.message = _("Only a bank's staff may use the bank API.")
            return False
        return True


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per key (per user for sessions), so one bank's batch job cannot starve
    the others.

    The rate is read on every request, so a deployment (or a test's ``settings``
    fixture) changes it without a restart: ``settings.BANK_API_RATE``, else
    ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["bank_api"]``, else the class default.
    """

    scope = "bank_api"
    rate: str | None = "120/min"

    def __init__(self) -> None:
        # SimpleRateThrottle only calls get_rate() when ``rate`` is unset; call it
        # always, so the settings win over the class default.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def get_rate(self) -> str | None:
        configured = getattr(settings, "BANK_API_RATE", None)
        if configured:
            return configured
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        return rates.get(self.scope) or type(self).rate

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ProductCursorPagination(CursorPagination):
    """Newest first; a cursor (not a page number) so a bank paging through its
    catalogue while it changes sees no product twice and skips none. ``-pk`` breaks
    ties between products created in the same instant (bulk imports)."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        """The ``page_size`` asked for, capped at ``max_page_size``.

        DRF ignores a page size it cannot read (``0.5``, ``-1``, ``abc``) and answers
        with the default one; a client that asked for something else is told instead
        (400 naming the parameter), as the schema's ``"minimum": 1`` says.
        """
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0")
        if not raw.isascii() or not raw.isdigit() or not digits:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _(
                            "Must be a whole number of at least 1 (a page holds at "
                            "most %(max)s products)."
                        )
                        % {"max": self.max_page_size}
                    ]
                }
            )
        # More digits than any page holds: capped without converting (Python refuses
        # int() of strings over 4300 digits).
        return min(
            int(digits) if len(digits) <= 9 else self.max_page_size, self.max_page_size
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    f"Products per page: {self.page_size} by default; a larger value "
                    f"than {self.max_page_size} is capped at {self.max_page_size}."
                )
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = (
                    "The cursor of the `next` or `previous` link of a page; any "
                    "other value is answered 404."
                )
        return parameters

    def decode_cursor(self, request):
        """DRF's cursor, and its position checked: the position is a ``created_at``
        timestamp, and a cursor forged with anything else (``p=not-a-date``, a NUL)
        is an invalid cursor (404, as DRF answers a cursor it cannot decode), not a
        database error."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            position = cursor.position
            try:
                valid = "\x00" not in position and parse_datetime(position) is not None
            except ValueError:
                valid = False
            if not valid:
                raise NotFound(self.invalid_cursor_message)
        return cursor


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The product is not in a state that allows this."
    default_code = "conflict"


# --- Serializers -----------------------------------------------------------------------


class CodeListField(serializers.ListField):
    """A list of reference codes (districts, industries, data categories).

    The services check every code, and their error names the unknown ones; the schema
    lists the codes as an enum (``CodeListFieldExtension``), so an integrator reads the
    valid codes there and a generated request uses them.
    """

    def __init__(self, *, codes: Iterable[str], **kwargs: Any) -> None:
        self.codes = tuple(codes)
        kwargs.setdefault("child", StrictCharField(max_length=40))
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)


class CodeListFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "lenders.api.CodeListField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": "string", "enum": list(self.target.codes)},
        }
        if self.target.max_length is not None:
            schema["maxItems"] = self.target.max_length
        return schema


class RelatedCodesField(CodeListField):
    """A list of codes stored as child rows (a product's districts or industries).

    Reads the codes from the related manager named by ``source``; writes hand the
    plain list to the services, which check every code before anything is saved.
    """

    def __init__(self, *, code_attr: str, **kwargs: Any) -> None:
        self.code_attr = code_attr
        kwargs.setdefault("child", StrictCharField(max_length=20))
        super().__init__(**kwargs)

    def get_attribute(self, instance: LoanProduct) -> list[str]:
        rows = getattr(instance, self.source).all()
        return sorted(getattr(row, self.code_attr) for row in rows)


def field_errors(error: InvalidProduct) -> serializers.ValidationError:
    """The services' errors as DRF's: Django's ``__all__`` key becomes DRF's
    ``non_field_errors``, so clients see one convention."""
    errors = dict(error.errors)
    if NON_FIELD_ERRORS in errors:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
    return serializers.ValidationError(errors)


def _listed_terms(product: LoanProduct) -> dict[str, Any]:
    """The product's terms, its places read through ``.all()`` (the prefetch)."""
    return product.terms(
        regions=[row.district for row in product.districts.all()],
        industries=[row.industry for row in product.industries.all()],
    )


class RevisionChangeSerializer(serializers.Serializer):
    """One reviewed field a revision changes."""

    field = serializers.CharField(help_text="The product field (or `regions`, …).")
    listed = serializers.JSONField(help_text="Its listed value, as the product has it.")
    proposed = serializers.JSONField(help_text="The value the revision proposes.")


class ProductRevisionSerializer(serializers.ModelSerializer):
    """A change to a listed product's reviewed terms, as the platform reviews it.

    ``status``: ``pending`` (waiting; the product keeps its listed terms),
    ``approved`` (now the listed terms, as version ``current_version``),
    ``returned`` (refused: ``operator_note`` says why; edit the product again) or
    ``withdrawn`` (the terms were edited back, or the product delisted).
    """

    product = serializers.CharField(source="product.code", read_only=True)
    changes = serializers.SerializerMethodField(
        help_text="The reviewed fields it changes, against the listed terms."
    )
    proposed = serializers.JSONField(
        read_only=True,
        help_text="The whole product as it would be listed (a version's `terms`).",
    )
    proposed_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = LoanProductRevision
        ref_name = "ProductRevision"
        fields = (
            "id",
            "product",
            "status",
            "base_version",
            "edits",
            "changes",
            "proposed",
            "operator_note",
            "proposed_at",
            "updated_at",
            "decided_at",
        )
        read_only_fields = fields

    @extend_schema_field(RevisionChangeSerializer(many=True))
    def get_changes(self, revision: LoanProductRevision) -> list[dict[str, Any]]:
        listed = _listed_terms(revision.product)
        return [
            {"field": name, "listed": listed[name], "proposed": revision.proposed[name]}
            for name in REVIEWED_TERMS
            if name in revision.proposed and listed.get(name) != revision.proposed[name]
        ]


class ProductSerializer(StrictModelSerializer):
    """A loan product as a bank sees and edits it.

    Field-by-field checks (types, lengths, choices, decimal places, a code already
    used by the bank) are the serializer's; everything that involves the product as a
    whole (ranges, the rate cap, district and industry codes) is the services', whose
    ``InvalidProduct`` errors come back as field errors here.
    """

    regions = RelatedCodesField(
        source="districts",
        code_attr="district",
        codes=DISTRICTS,
        required=False,
        help_text="District codes the product is offered in; empty = city-wide.",
    )
    industries = RelatedCodesField(
        code_attr="industry",
        codes=INDUSTRIES,
        required=False,
        help_text="GB/T 4754 section letters; empty = every industry.",
    )
    required_categories = CodeListField(
        codes=Category.values,
        required=False,
        max_length=20,
        help_text="Data categories the SME must consent to share.",
    )
    latest_revision = ProductRevisionSerializer(
        read_only=True,
        allow_null=True,
        help_text="The newest change proposed for the listed product (pending, "
        "approved, returned or withdrawn); null if none ever was.",
    )

    class Meta:
        model = LoanProduct
        fields = (
            *PRODUCT_FIELDS,
            "regions",
            "industries",
            "currency",
            "status",
            "review_comment",
            "current_version",
            "latest_revision",
            "submitted_at",
            "listed_at",
            "created_at",
            "updated_at",
        )
        read_only_fields: tuple[str, ...] = (
            "currency",
            "status",
            "review_comment",
            "current_version",
            "submitted_at",
            "listed_at",
            "created_at",
            "updated_at",
        )
        # The months' bounds (1 to 360) and the response time's (1 to 60 working
        # days) come from the model's validators, so the schema states them.

    def validate_code(self, value: str) -> str:
        """A duplicate code is the client's field error, checked before the service.

        ``product_create`` validates the model (its unique constraint included) before
        its own code check, so a duplicate would otherwise come back as a non-field
        "Loan product with this Lender and Product code already exists."
        """
        lender: Lender | None = self.context.get("lender")
        if (
            self.instance is None
            and lender is not None
            and LoanProduct.objects.filter(lender=lender, code=value).exists()
        ):
            raise serializers.ValidationError(
                _("You already have a product with this code.")
            )
        return value

    def create(self, validated_data: dict[str, Any]) -> LoanProduct:
        lender: Lender = self.context["lender"]
        regions = validated_data.pop("districts", ())
        industries = validated_data.pop("industries", ())
        try:
            return product_create(
                lender=lender,
                actor=self.context["request"].user,
                data=validated_data,
                regions=regions,
                industries=industries,
            )
        except InvalidProduct as error:
            raise field_errors(error) from None
        except IntegrityError:
            # Two concurrent creates with one code: the loser's exists() check passed
            # before the winner committed, so the unique constraint caught it.
            code = validated_data.get("code")
            if LoanProduct.objects.filter(lender=lender, code=code).exists():
                raise serializers.ValidationError(
                    {"code": [_("You already have a product with this code.")]}
                ) from None
            raise

    def update(
        self, instance: LoanProduct, validated_data: dict[str, Any]
    ) -> LoanProduct:
        """The services' ``ProductChange`` is kept in ``self.change``: the view
        answers 202 with the revision when the edit went to review."""
        # Omitted regions / industries stay as they are (None), even on PUT: a client
        # that does not know about them must not wipe them.
        regions = validated_data.pop("districts", None)
        industries = validated_data.pop("industries", None)
        try:
            self.change: ProductChange = product_update(
                product=instance,
                actor=self.context["request"].user,
                data=validated_data,
                regions=regions,
                industries=industries,
            )
        except InvalidProduct as error:
            raise field_errors(error) from None
        return self.change.product


class ProductUpdateSerializer(ProductSerializer):
    """A product's terms as a bank replaces or changes them: everything but the code.

    The code is the product's identity in the bank's systems and in URLs: chosen at
    creation, never changed. A ``code`` in the body is ignored, like every read-only
    field, and the schema of PUT and PATCH does not list it.
    """

    class Meta(ProductSerializer.Meta):
        read_only_fields = ("code", *ProductSerializer.Meta.read_only_fields)


# Error responses every operation has (400, 401, 403, 404, 406, 415, 429) are added by
# core.api.AutoSchema; the views declare only what is theirs.
NOT_FOUND = {
    404: OpenApiResponse(
        ErrorSerializer, description="No such product (or another bank's)."
    )
}
CONFLICT = {
    409: OpenApiResponse(
        ErrorSerializer, description="The product's status does not allow this."
    )
}
PENDING_REVIEW = {
    202: OpenApiResponse(
        ProductRevisionSerializer,
        description="The product is listed and the edit changes reviewed terms: "
        "they wait for the platform's review as this revision, and the product "
        "keeps its listed terms until it is approved.",
    )
}
REVIEW_DESCRIPTION = (
    "A draft or delisted product changes at once (200). A listed product's "
    "`description`, `name_en` and `description_en` change at once too; a change "
    "to any other term is a pending revision the platform reviews (202 with the "
    "revision; a later edit updates it; editing the terms back to the listed ones "
    "withdraws it)."
)


EXAMPLE_TERMS: dict[str, Any] = {
    "name": "科创快贷",
    "name_en": "Tech Quick Loan",
    "description": "纯信用，线上申请。",
    "description_en": "Unsecured; apply online.",
    "product_type": "tax_based",
    "guarantee_type": "none",
    "amount_min": "100000.00",
    "amount_max": "3000000.00",
    "term_min": 6,
    "term_max": 36,
    "rate_min": "3.45",
    "rate_max": "6.50",
    "repayment_method": "equal_instalment",
    "min_grade": "B",
    "min_years_in_business": "2.0",
    "min_tax_credit_grade": "",
    "required_categories": ["registration", "tax"],
    "pure_credit": True,
    "fully_online": True,
    "response_days": 5,
    "regions": ["440304", "440305"],
    "industries": ["C", "I"],
}
CREATE_EXAMPLE = OpenApiExample(
    "A tax-based credit loan",
    value={"code": "kcd-2026", **EXAMPLE_TERMS},
    request_only=True,
)
UPDATE_EXAMPLE = OpenApiExample("New terms", value=EXAMPLE_TERMS, request_only=True)
PATCH_EXAMPLE = OpenApiExample(
    "A higher maximum rate, one district",
    value={"rate_max": "7.25", "regions": ["440305"]},
    request_only=True,
)


# --- Views -----------------------------------------------------------------------------


class ClientLanguageMixin:
    """Answer in the client's language (cookie, else ``Accept-Language``).

    ``LocaleMiddleware`` pins every unprefixed path to ``LANGUAGE_CODE`` because the
    site uses ``i18n_patterns(prefix_default_language=False)``; the API has no
    language prefix, so without this a bank's system could never get English error
    messages. Done before authentication, so its errors are translated too.
    """

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        translation.activate(
            translation.get_language_from_request(request._request, check_path=False)
        )
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


@extend_schema_view(
    list=extend_schema(
        operation_id="products_list",
        summary="List the bank's products",
        responses={200: ProductSerializer},
    ),
    retrieve=extend_schema(
        operation_id="products_retrieve",
        summary="Get one product",
        responses={200: ProductSerializer, **NOT_FOUND},
    ),
    create=extend_schema(
        operation_id="products_create",
        summary="Create a product (as a draft)",
        request=ProductSerializer,
        responses={201: ProductSerializer},
        examples=[CREATE_EXAMPLE],
    ),
    update=extend_schema(
        operation_id="products_update",
        summary="Replace a product's terms",
        description=REVIEW_DESCRIPTION,
        request=ProductUpdateSerializer,
        responses={200: ProductSerializer, **PENDING_REVIEW, **NOT_FOUND, **CONFLICT},
        examples=[UPDATE_EXAMPLE],
    ),
    partial_update=extend_schema(
        operation_id="products_partial_update",
        summary="Change some of a product's terms",
        description=REVIEW_DESCRIPTION,
        request=ProductUpdateSerializer,
        responses={200: ProductSerializer, **PENDING_REVIEW, **NOT_FOUND, **CONFLICT},
        examples=[PATCH_EXAMPLE],
    ),
)
@extend_schema(tags=["products"])
class ProductViewSet(
    ClientLanguageMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The authenticated bank's loan products. No delete: products are delisted, and
    their versions are kept for the applications made under them."""

    serializer_class = ProductSerializer
    lookup_field = "code"
    # A product code is a slug: anything else in the path (a NUL, a slash) is a
    # 404 from the URL resolver, never a database error.
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    authentication_classes = (ApiKeyAuthentication, SessionAuthentication)
    permission_classes = (HasScope,)
    throttle_classes = (ApiKeyRateThrottle,)
    # JSON only: the lists (regions, industries) have no unambiguous form encoding,
    # and integrators' systems speak JSON; the docs page is the human interface.
    parser_classes = (SafeJSONParser,)
    renderer_classes = (JSONRenderer,)
    pagination_class = ProductCursorPagination
    required_scopes: ClassVar[dict[str, str]] = {
        "GET": "products:read",
        "POST": "products:write",
        "PUT": "products:write",
        "PATCH": "products:write",
    }

    @cached_property
    def lender(self) -> Lender | None:
        return request_lender(self.request)

    def get_queryset(self) -> QuerySet[LoanProduct]:
        if getattr(self, "swagger_fake_view", False) or self.lender is None:
            return LoanProduct.objects.none()
        return with_latest_revision(
            LoanProduct.objects.filter(lender=self.lender).prefetch_related(
                "districts", "industries"
            )
        )

    def get_serializer_class(self) -> type[ProductSerializer]:
        if self.action in ("update", "partial_update"):
            return ProductUpdateSerializer
        return ProductSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["lender"] = self.lender
        return context

    def handle_exception(self, exc: Exception) -> Response:
        """Turn the services' domain errors into DRF's, so they get its error bodies."""
        if isinstance(exc, InvalidProduct):
            exc = field_errors(exc)
        elif isinstance(exc, NotPermitted):
            exc = PermissionDenied(exc.message)
        elif isinstance(exc, TransitionNotAllowed):
            exc = Conflict(exc.message)
        return super().handle_exception(exc)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """DRF's update, answering 202 with the revision when the edit went to
        the platform's review instead of changing the listed product."""
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        change: ProductChange = serializer.change
        if change.revision is not None:
            return Response(
                ProductRevisionSerializer(change.revision).data,
                status=status.HTTP_202_ACCEPTED,
            )
        product = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(product).data)

    def _transition(self, action_name: str) -> Response:
        product = product_transition(
            product=self.get_object(), action=action_name, actor=self.request.user
        )
        product = self.get_queryset().get(pk=product.pk)
        return Response(self.get_serializer(product).data)

    @extend_schema(
        operation_id="products_submit",
        summary="Submit a draft (or delisted) product for the platform's review",
        request=None,
        responses={200: ProductSerializer, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, code: str | None = None) -> Response:
        return self._transition("submit")

    @extend_schema(
        operation_id="products_withdraw",
        summary="Withdraw a product from review, back to draft",
        request=None,
        responses={200: ProductSerializer, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, code: str | None = None) -> Response:
        return self._transition("withdraw")

    @extend_schema(
        operation_id="products_delist",
        summary="Take a listed product off the marketplace",
        request=None,
        responses={200: ProductSerializer, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def delist(self, request: Request, code: str | None = None) -> Response:
        return self._transition("delist")


@csrf_exempt  # it changes nothing, and a POST to a wrong path is a 404, not a 403
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under ``/api/v1/`` (a product code that is not a slug, a typo):
    the API's own 404 body, in the client's language, not the site's HTML page."""
    language = translation.get_language_from_request(request, check_path=False)
    with translation.override(language):
        return JsonResponse(
            {"detail": str(NotFound.default_detail)},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )


# --- Documentation page ----------------------------------------------------------------


class BankApiSchemaView(ClientLanguageMixin, SpectacularAPIView):
    """The OpenAPI schema at ``/api/schema/``.

    Who may fetch it is ``SPECTACULAR_SETTINGS``: a bank's API key (how integrators'
    tools download it) or a signed-in session (the docs page); anonymous is a 401.
    Its texts, and its errors, are in the client's language like the API's
    (``?lang=en`` also works, as drf-spectacular provides).
    """


SWAGGER_UI_DIST = "drf_spectacular_sidecar/swagger-ui-dist"


class BankApiDocsView(SpectacularSwaggerView):
    """Swagger UI for bank integrators, served from our own static files.

    The assets come from drf-spectacular-sidecar, not a CDN: the page is for signed-in
    bank staff, and a third-party script on it could read their session's API calls.
    Overriding the two resource hooks keeps this independent of
    ``SPECTACULAR_SETTINGS["SWAGGER_UI_DIST"]``. Swagger UI's online validator is
    switched off for the same reason: it would send our schema URL to a third party.
    """

    url_name = "api-schema"
    title = "Xinyidai bank API"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return static(f"{SWAGGER_UI_DIST}/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return static(f"{SWAGGER_UI_DIST}/favicon-32x32.png")

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        configured = spectacular_settings.SWAGGER_UI_SETTINGS
        if isinstance(configured, dict):
            # A string setting is raw JavaScript we cannot merge into; leave it alone.
            response.data["settings"] = self._dump({**configured, "validatorUrl": None})
        return response
