"""Per-lender API keys: shown once, stored as a SHA-256, scoped, revocable.

A key looks like ``xyd_<prefix>_<secret>``: the 8-character prefix finds the row, the
SHA-256 of the whole key is compared in constant time. The secret has 256 bits of
entropy, so a plain SHA-256 (no slow hash) is the right tool.

``ApiKeyAuthentication`` is the DRF authentication of the bank API and of the schema
view (``SPECTACULAR_SETTINGS["SERVE_AUTHENTICATION"]``); it lives here, not in
``lenders.api``, because drf-spectacular imports it while its own views module loads.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.models import User
from lenders.exceptions import NotPermitted
from lenders.models import ApiKey, Lender

SCOPES = ("products:read", "products:write", "applications:read", "applications:write")
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, lender: Lender, name: str, scopes: list[str], created_by: User
) -> tuple[ApiKey, str]:
    """Create a key; returns it and the raw key, which is never retrievable again."""
    from lenders.services import actor_role

    if actor_role(user=created_by, lender=lender) != "lender_admin":
        raise NotPermitted(_("Only the bank's administrators manage API keys."))
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise NotPermitted(
            _("Choose scopes among: %(scopes)s.") % {"scopes": ", ".join(SCOPES)},
            field="scopes",
        )
    if not name.strip():
        raise NotPermitted(_("Give the key a name."), field="name")
    prefix = secrets.token_hex(4)
    raw = f"xyd_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        lender=lender,
        name=name.strip()[:100],
        prefix=prefix,
        key_sha256=_digest(raw),
        scopes=sorted(set(scopes)),
        created_by=created_by,
    )
    return key, raw


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, or None (unknown, malformed, revoked)."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "xyd" or len(parts[1]) != 8:
        return None
    key = (
        ApiKey.objects.select_related("lender", "created_by")
        .filter(prefix=parts[1], revoked_at__isnull=True, lender__is_active=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.key_sha256, _digest(raw)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: User) -> ApiKey:
    from lenders.services import actor_role

    if actor_role(user=actor, lender=key.lender) != "lender_admin":
        raise NotPermitted(_("Only the bank's administrators manage API keys."))
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at", "updated_at"])
    return locked


# --- Authentication of API requests ---------------------------------------------------

INVALID_KEY = gettext_lazy("Invalid or revoked API key.")


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
