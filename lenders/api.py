"""The bank API: lenders manage their loan products from their own systems.

Banks integrate with API keys (``lenders.apikeys``): ``Authorization: Bearer xyd_…``
or ``X-Api-Key: xyd_…``. A key belongs to one lender and carries scopes; the key's
lender, never anything in the request, decides which products are visible, so another
bank's product is simply not found (404, never 403, which would confirm it exists).
A lender administrator signed in to the portal may use the same endpoints with the
session; scopes do not apply to sessions, the services' role checks do.

Every write goes through ``lenders.services``: the API is a transport, not a second
set of rules. Domain errors become HTTP answers here: ``InvalidProduct`` → 400 with
field errors, ``NotPermitted`` → 403, ``TransitionNotAllowed`` → 409.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import IntegrityError
from django.db.models import QuerySet
from django.templatetags.static import static
from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import (
    APIException,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
)
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from core.api import SafeJSONParser
from lenders.apikeys import api_key_authenticate
from lenders.exceptions import InvalidProduct, NotPermitted, TransitionNotAllowed
from lenders.models import ApiKey, Lender, LoanProduct
from lenders.selectors import lender_for_user
from lenders.services import (
    PRODUCT_FIELDS,
    product_create,
    product_transition,
    product_update,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

INVALID_KEY = gettext_lazy("Invalid or revoked API key.")


# --- Authentication -------------------------------------------------------------------


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate a request by a lender's API key.

    Returns ``(key.created_by, key)``: ``request.user`` is the administrator who made
    the key (so the services' role checks still apply, and a key stops writing when its
    creator stops being an administrator) and ``request.auth`` is the ``ApiKey``, whose
    lender and scopes govern the request.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        raw = self._raw_key(request)
        if raw is None:
            # No key offered: let the next authenticator (the session) try.
            return None
        key = api_key_authenticate(raw)
        if key is None or not key.created_by.is_active:
            raise AuthenticationFailed(INVALID_KEY)
        return key.created_by, key

    def _raw_key(self, request: Request) -> str | None:
        """The key the client offered, or None when it offered none.

        A ``Bearer`` header that is empty or has spaces in it is an attempt that failed,
        not an absent key, so it is refused rather than silently ignored.
        """
        header = request.headers.get("Authorization", "")
        parts = header.split()
        if parts and parts[0].lower() == self.keyword.lower():
            if len(parts) != 2:
                raise AuthenticationFailed(INVALID_KEY)
            return parts[1]
        alternative = request.headers.get("X-Api-Key")
        if alternative is not None:
            alternative = alternative.strip()
            if not alternative or " " in alternative:
                raise AuthenticationFailed(INVALID_KEY)
            return alternative
        return None

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 (not 403) to a missing or bad key.
        return f'{self.keyword} realm="xinyidai"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the key in the OpenAPI schema: bearer header or ``X-Api-Key``.

    Two names with an OR requirement, because a client sends one header or the other,
    never both.
    """

    target_class = "lenders.api.ApiKeyAuthentication"
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


class RelatedCodesField(serializers.ListField):
    """A list of codes stored as child rows (a product's districts or industries).

    Reads the codes from the related manager named by ``source``; writes hand the
    plain list to the services, which check every code before anything is saved.
    """

    def __init__(self, *, code_attr: str, **kwargs: Any) -> None:
        self.code_attr = code_attr
        kwargs.setdefault("child", serializers.CharField(max_length=20))
        kwargs.setdefault("max_length", 100)
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


class ProductSerializer(serializers.ModelSerializer):
    """A loan product as a bank sees and edits it.

    Field-by-field checks (types, lengths, choices, decimal places, a code already
    used by the bank) are the serializer's; everything that involves the product as a
    whole (ranges, the rate cap, district and industry codes) is the services', whose
    ``InvalidProduct`` errors come back as field errors here.
    """

    regions = RelatedCodesField(
        source="districts",
        code_attr="district",
        required=False,
        help_text="District codes the product is offered in; empty = city-wide.",
    )
    industries = RelatedCodesField(
        code_attr="industry",
        required=False,
        help_text="GB/T 4754 section letters; empty = every industry.",
    )
    required_categories = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=20
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
            "submitted_at",
            "listed_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "currency",
            "status",
            "review_comment",
            "current_version",
            "submitted_at",
            "listed_at",
            "created_at",
            "updated_at",
        )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, Iterable):
            # The code is the product's identity in the bank's systems and in URLs:
            # it is chosen at creation and never changes.
            fields["code"].read_only = True
        return fields

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
        # Omitted regions / industries stay as they are (None), even on PUT: a client
        # that does not know about them must not wipe them.
        regions = validated_data.pop("districts", None)
        industries = validated_data.pop("industries", None)
        try:
            return product_update(
                product=instance,
                actor=self.context["request"].user,
                data=validated_data,
                regions=regions,
                industries=industries,
            )
        except InvalidProduct as error:
            raise field_errors(error) from None


class DetailSerializer(serializers.Serializer):
    """The body of every non-validation error (401, 403, 404, 409, 429)."""

    detail = serializers.CharField()


ERRORS = {
    401: OpenApiResponse(
        DetailSerializer, description="Missing, invalid or revoked key."
    ),
    403: OpenApiResponse(
        DetailSerializer, description="Missing scope, or not the bank's administrator."
    ),
    429: OpenApiResponse(DetailSerializer, description="Rate limit exceeded."),
}
NOT_FOUND = {404: OpenApiResponse(DetailSerializer, description="No such product.")}
CONFLICT = {
    409: OpenApiResponse(
        DetailSerializer, description="The product's status does not allow this."
    )
}
INVALID = {
    400: OpenApiResponse(
        {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "example": {"amount_max": ["The maximum must not be below the minimum."]},
        },
        description="Field errors: field name → list of messages; nothing was saved.",
    )
}


# --- Views -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        operation_id="products_list",
        summary="List the bank's products",
        responses={200: ProductSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        operation_id="products_retrieve",
        summary="Get one product",
        responses={200: ProductSerializer, **ERRORS, **NOT_FOUND},
    ),
    create=extend_schema(
        operation_id="products_create",
        summary="Create a product (as a draft)",
        request=ProductSerializer,
        responses={201: ProductSerializer, **INVALID, **ERRORS},
    ),
    update=extend_schema(
        operation_id="products_update",
        summary="Replace a product's terms",
        request=ProductSerializer,
        responses={
            200: ProductSerializer,
            **INVALID,
            **ERRORS,
            **NOT_FOUND,
            **CONFLICT,
        },
    ),
    partial_update=extend_schema(
        operation_id="products_partial_update",
        summary="Change some of a product's terms",
        request=ProductSerializer,
        responses={
            200: ProductSerializer,
            **INVALID,
            **ERRORS,
            **NOT_FOUND,
            **CONFLICT,
        },
    ),
)
@extend_schema(tags=["products"])
class ProductViewSet(
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
        return LoanProduct.objects.filter(lender=self.lender).prefetch_related(
            "districts", "industries"
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["lender"] = self.lender
        return context

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """Answer in the client's language (cookie, else ``Accept-Language``).

        ``LocaleMiddleware`` pins every unprefixed path to ``LANGUAGE_CODE`` because
        the site uses ``i18n_patterns(prefix_default_language=False)``; the API has no
        language prefix, so without this a bank's system could never get English
        error messages. Done before authentication, so its errors are translated too.
        """
        translation.activate(
            translation.get_language_from_request(request._request, check_path=False)
        )
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc: Exception) -> Response:
        """Turn the services' domain errors into DRF's, so they get its error bodies."""
        if isinstance(exc, InvalidProduct):
            exc = field_errors(exc)
        elif isinstance(exc, NotPermitted):
            exc = PermissionDenied(exc.message)
        elif isinstance(exc, TransitionNotAllowed):
            exc = Conflict(exc.message)
        return super().handle_exception(exc)

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
        responses={200: ProductSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, code: str | None = None) -> Response:
        return self._transition("submit")

    @extend_schema(
        operation_id="products_withdraw",
        summary="Withdraw a product from review, back to draft",
        request=None,
        responses={200: ProductSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, code: str | None = None) -> Response:
        return self._transition("withdraw")

    @extend_schema(
        operation_id="products_delist",
        summary="Take a listed product off the marketplace",
        request=None,
        responses={200: ProductSerializer, **ERRORS, **NOT_FOUND, **CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def delist(self, request: Request, code: str | None = None) -> Response:
        return self._transition("delist")


# --- Documentation page ----------------------------------------------------------------

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
