"""What every API view shares: the request parser, the error bodies and their
documentation, and request fields that take only the JSON type the schema names.

Error bodies (``exception_handler``, set as DRF's ``EXCEPTION_HANDLER``) have exactly
two shapes, so a client needs two branches, not one per endpoint:

* ``400``: ``{"<field>": ["message", …], "non_field_errors": ["message", …]}`` — every
  key a request field (or query parameter) that was refused, each value a flat list of
  messages. A body that is not JSON, or not an object, is a ``non_field_errors``
  message. An error inside a list (one region code of several) is one message on the
  list's field, prefixed with the item's index.
* every other error (401, 403, 404, 405, 406, 409, 415, 429): ``{"detail": "message"}``.

``AutoSchema`` (DRF's ``DEFAULT_SCHEMA_CLASS``) documents those bodies on every
operation in one place, so a view cannot forget one and the OpenAPI schema says what
the API really answers: schemathesis checks it (tests/lenders/test_api_schemathesis.py).
"""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

# --- Parsing ---------------------------------------------------------------------------


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, with nesting too deep for the decoder answered as what it is:
    a malformed request (400), not a ``RecursionError`` (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


# --- Error bodies ----------------------------------------------------------------------


def _messages(detail: Any) -> list[str]:
    """DRF's error detail (a string, a list, or a dict for a list's items) as a flat
    list of messages."""
    if isinstance(detail, dict):
        messages = []
        for key, value in detail.items():
            for message in _messages(value):
                if isinstance(key, int):
                    message = _("Item %(index)s: %(message)s") % {
                        "index": key,
                        "message": message,
                    }
                else:
                    message = f"{key}: {message}"
                messages.append(message)
        return messages
    if isinstance(detail, list | tuple):
        return [message for item in detail for message in _messages(item)]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with its bodies brought to the two documented shapes.

    DRF itself answers a list's item errors as ``{"regions": {"0": [...]}}``, a
    ``ValidationError("…")`` as a bare list, a parse error as ``{"detail": …}`` and a
    Django ``Http404`` with the model's name in English; each becomes the same shape
    as its siblings here. Anything that is not an API error stays a 500 (``None``).
    """
    if isinstance(exc, Http404):
        exc = NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(exc, ValidationError):
        data = exc.detail
        if isinstance(data, dict):
            response.data = {str(key): _messages(value) for key, value in data.items()}
        else:
            response.data = {non_field: _messages(data)}
    elif isinstance(exc, ParseError):
        response.data = {non_field: _messages(exc.detail)}
    elif not (
        isinstance(response.data, dict)
        and list(response.data) == ["detail"]
        and isinstance(response.data["detail"], str)
    ):
        response.data = {"detail": " ".join(_messages(response.data))}
    return response


class ErrorSerializer(serializers.Serializer):
    """Every error but a 400: what went wrong, in the client's language."""

    detail = serializers.CharField()

    class Meta:
        ref_name = "Error"


class FieldErrorsSerializer(serializers.Serializer):
    """Base of the 400 bodies: one property per field that can be refused.

    ``AutoSchema`` builds one subclass per request shape (its fields are that request's
    fields), and documents it with ``additionalProperties: false``: a 400 names only
    fields the request has.
    """

    non_field_errors = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Errors about the request as a whole (a body that is not a JSON "
        "object, a rule involving several fields).",
    )


_FIELD_ERRORS_CLASSES: dict[
    tuple[str, tuple[str, ...]], type[FieldErrorsSerializer]
] = {}


def field_errors_serializer(
    name: str, fields: list[str]
) -> type[FieldErrorsSerializer]:
    """The 400 body of a request with these ``fields``, as a serializer class.

    Cached, so every operation that shares a request shape shares one class (the
    schema generator treats two classes with one component name as a conflict).
    """
    key = (name, tuple(fields))
    if key not in _FIELD_ERRORS_CLASSES:
        attributes: dict[str, Any] = {
            field: serializers.ListField(
                child=serializers.CharField(),
                required=False,
                help_text=f"Why `{field}` was refused.",
            )
            for field in fields
            if field != api_settings.NON_FIELD_ERRORS_KEY
        }
        attributes["Meta"] = type("Meta", (), {"ref_name": name})
        attributes["__doc__"] = (
            "Why the request was refused (400): each key is a field of the request "
            "(or a query parameter), each value the list of messages about it; "
            "`non_field_errors` is about the request as a whole. Nothing was changed."
        )
        _FIELD_ERRORS_CLASSES[key] = type(
            f"{name}Serializer", (FieldErrorsSerializer,), attributes
        )
    return _FIELD_ERRORS_CLASSES[key]


def _camel(name: str) -> str:
    return "".join(
        part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]", name)
    )


NO_NUL_PATTERN = r"^[^\u0000]*$"


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, with every operation's error responses added from
    what the view really does, and ``""`` marked where a field refuses it.

    A response a view declares itself (``extend_schema(responses=…)``) wins, so a view
    can describe, say, its 409 in its own words; every other error code the view can
    answer is added here:

    * 400 when the operation reads a body or validates a query parameter;
    * 401 and 403 when the view has permissions;
    * 404 on a path with parameters (no such object) and on a cursor-paginated list
      (a cursor that is not one the API issued);
    * 406 always (an ``Accept`` header no renderer satisfies);
    * 415 when the operation reads a body (a content type no parser reads);
    * 429 when the view is throttled.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        # Added here rather than in get_response_serializers(): extend_schema(responses=)
        # replaces that method, and this must apply to every operation.
        responses = operation.setdefault("responses", {})
        for code, response in self._error_responses().items():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(response, str(code))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_basic_serializer(self, serializer, direction):
        """drf-spectacular's object schema, plus what a request's CharField refuses and
        drf-spectacular does not say: ``""`` unless ``allow_blank`` (so a field that
        takes ``""`` is the one without ``minLength``, and says so), and NUL."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        properties = schema.get("properties", {})
        for field in force_instance(serializer).fields.values():
            prop = properties.get(field.field_name)
            # A choice that takes "" is already marked: oneOf [its enum, BlankEnum].
            if (
                not isinstance(field, serializers.CharField)
                or field.read_only
                or not isinstance(prop, dict)
                or prop.get("type") != "string"
            ):
                continue
            if field.allow_blank:
                prop["description"] = " ".join(
                    filter(None, [prop.get("description"), 'May be empty ("").'])
                )
            elif not prop.get("minLength"):
                prop["minLength"] = 1
            if "pattern" not in prop and "format" not in prop:
                prop["pattern"] = NO_NUL_PATTERN
        return schema

    def _postprocess_serializer_schema(self, schema, serializer, direction):
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        if isinstance(serializer, FieldErrorsSerializer):
            schema["additionalProperties"] = False
            schema["minProperties"] = 1
        return schema

    # --- which errors the operation can answer -----------------------------------------

    def _has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and bool(
            self._request_field_names()
        )

    def _request_field_names(self) -> list[str]:
        serializer = force_instance(self.get_request_serializer())
        if not isinstance(serializer, serializers.Serializer):
            return []
        return [
            name for name, field in serializer.fields.items() if not field.read_only
        ]

    def _validated_query_names(self) -> list[str]:
        """Query parameters whose bad values are a 400 (the page size)."""
        paginator = self._get_paginator() if self._is_list_view() else None
        name = getattr(paginator, "page_size_query_param", None)
        return [name] if name else []

    def _error_responses(self) -> dict[int, OpenApiResponse]:
        errors: dict[int, OpenApiResponse] = {}
        fields = (self._request_field_names() if self._has_body() else []) + (
            self._validated_query_names()
        )
        if fields:
            name = _camel(self.get_operation_id()) + "ValidationError"
            errors[400] = OpenApiResponse(
                field_errors_serializer(name, fields),
                description="Refused input: each key names a field (or query "
                "parameter), each value lists why. Nothing was changed.",
            )
        permissions = getattr(self.view, "permission_classes", ())
        if any(permission is not AllowAny for permission in permissions):
            errors[401] = OpenApiResponse(
                ErrorSerializer,
                description="No credentials, or an invalid or revoked API key.",
            )
            errors[403] = OpenApiResponse(
                ErrorSerializer,
                description="Authenticated, but not allowed: the key lacks the "
                "scope, or its user may not do this.",
            )
        paginator = self._get_paginator() if self._is_list_view() else None
        if "{" in self.path:
            errors[404] = OpenApiResponse(
                ErrorSerializer,
                description="No such object (or one that belongs to someone else).",
            )
        elif isinstance(paginator, CursorPagination):
            errors[404] = OpenApiResponse(
                ErrorSerializer,
                description="The cursor is not one the API issued (“Invalid cursor”).",
            )
        errors[406] = OpenApiResponse(
            ErrorSerializer,
            description="The Accept header asks for a type the API does not "
            "produce (it produces application/json).",
        )
        if self._has_body():
            errors[415] = OpenApiResponse(
                ErrorSerializer,
                description="The body is not application/json.",
            )
        if getattr(self.view, "throttle_classes", ()):
            errors[429] = OpenApiResponse(
                ErrorSerializer,
                description="Rate limit exceeded; the Retry-After header says when "
                "to try again.",
            )
        return errors


# --- Request fields that take only their JSON type --------------------------------------
#
# DRF coerces: a CharField takes 5 and stores "5", an IntegerField takes "5" and 5.0, a
# BooleanField takes "yes" and 1, a DecimalField takes 3.45 (a binary float) and
# "1e2". The schema says "string", "integer", "boolean" and a decimal pattern, so an
# input of another type is refused here with the field's own message.


class StrictCharField(serializers.CharField):
    """A JSON string only; ``max_length`` counts the string as sent, before the
    surrounding spaces are trimmed, as the schema's ``maxLength`` does."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictSlugField(StrictCharField, serializers.SlugField):
    """A JSON string only (see ``StrictCharField``), then a slug."""


class StrictChoiceField(serializers.ChoiceField):
    """A JSON string only: DRF would match ``1`` to the choice ``"1"``."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only (not ``"5"``, ``5.0`` or ``true``)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false`` only (not ``"yes"``, ``1`` or ``"on"``)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictDecimalField(serializers.DecimalField):
    """A decimal written as a JSON string of plain digits: ``"3.45"``, ``"-1"``.

    Not a JSON number (a binary float: 0.1 + 0.2 is not 0.3, which money must not
    risk), and not what ``Decimal()`` also reads (``"1e2"``, ``" 5"``, ``".5"``,
    ``"NaN"``). The sign and the range are the model's rules, checked after this, so
    ``"-1.00"`` gets "Must be greater than zero.", not a format error.
    """

    default_error_messages = {
        "not_a_string": gettext_lazy(
            "Send the number as a JSON string of digits, for example “3.45”."
        ),
    }
    shape = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")

    @property
    def pattern(self) -> str:
        """The schema's pattern: the digits before and after the point allowed."""
        whole = (self.max_digits or 30) - (self.decimal_places or 0)
        places = self.decimal_places or 0
        fraction = rf"(?:\.\d{{1,{places}}})?" if places else ""
        return rf"^-?\d{{1,{whole}}}{fraction}$"

    def to_internal_value(self, data: Any):
        if not isinstance(data, str):
            self.fail("not_a_string")
        if not self.shape.fullmatch(data):
            self.fail("invalid")
        value = super().to_internal_value(data)
        # DRF does not count leading zeros ("000…001"); the pattern does.
        if not re.fullmatch(self.pattern, data):
            self.fail(
                "max_whole_digits",
                max_whole_digits=(self.max_digits or 30) - (self.decimal_places or 0),
            )
        return value


class StrictDecimalFieldExtension(OpenApiSerializerFieldExtension):
    """Documents ``StrictDecimalField`` with the pattern it enforces: at least one
    digit before an optional point, and at least one after it (drf-spectacular's own
    pattern also matches ``""``, ``"-"`` and ``"5."``, which are refused)."""

    target_class = StrictDecimalField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "format": "decimal", "pattern": self.target.pattern}


_STRICT_FIELDS: dict[type[serializers.Field], type[serializers.Field]] = {
    serializers.CharField: StrictCharField,
    serializers.SlugField: StrictSlugField,
    serializers.IntegerField: StrictIntegerField,
    serializers.BooleanField: StrictBooleanField,
    serializers.DecimalField: StrictDecimalField,
}


class StrictModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose fields take only the JSON type the schema names."""

    serializer_field_mapping = {
        model_field: _STRICT_FIELDS.get(field, field)
        for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
    }
    serializer_choice_field = StrictChoiceField
