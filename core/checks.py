"""Project system checks run by ``manage.py check --deploy``.

They read settings only (``core`` imports no domain app): a production deployment must
talk to a real credit-data provider, never to the sandbox, with credentials that are not
the sandbox's published demo values (``DEMO_SECRETS``, defined by config.settings.base).
Stored credentials are encrypted with ``FIELD_ENCRYPTION_KEYS``, which must be valid
everywhere and, in a deployment, not the repository's development key.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from core import crypto

SANDBOX_SCHEME = "sandbox"
SANDBOX_PATH_SEGMENT = "sandbox"


def is_sandbox_url(url: str) -> bool:
    """Whether ``url`` is the in-process sandbox (``sandbox://…``) or points at the
    platform's own sandbox routes (``https://host/sandbox/provider/v1``)."""
    parts = urlsplit(str(url).strip())
    if parts.scheme.lower() == SANDBOX_SCHEME:
        return True
    first_segment = unquote(parts.path).lstrip("/").split("/", 1)[0]
    return first_segment.lower() == SANDBOX_PATH_SEGMENT


def is_demo_secret(value: str) -> bool:
    """Whether ``value`` is one of the sandbox's published demo credentials."""
    return str(value).strip() in tuple(getattr(settings, "DEMO_SECRETS", ()))


def _secret_errors(name: str, empty_id: str, demo_id: str) -> list[CheckMessage]:
    value = str(getattr(settings, name, "") or "")
    if not value.strip():
        return [
            Error(
                f"{name} is empty.",
                hint=f"Set the {name} environment variable to the provider's value.",
                id=empty_id,
            )
        ]
    if is_demo_secret(value):
        return [
            Error(
                f"{name} is the sandbox provider's published demo value.",
                hint=f"Set the {name} environment variable to the provider's value; "
                "anyone can read the demo one.",
                id=demo_id,
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_credit_provider(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The provider is real and its credentials are neither empty nor demo values.

    xinyidai.E001  CREDIT_PROVIDER_URL is a sandbox URL
    xinyidai.E002  CREDIT_SANDBOX_ENABLED is true (the /sandbox/ routes are served)
    xinyidai.E003  CREDIT_PROVIDER_API_KEY is empty
    xinyidai.E004  CREDIT_PROVIDER_API_KEY is a demo value
    xinyidai.E005  CREDIT_PROVIDER_WEBHOOK_SECRET is empty
    xinyidai.E006  CREDIT_PROVIDER_WEBHOOK_SECRET is a demo value
    xinyidai.E007  CREDIT_PROVIDER_URL is empty
    """
    errors: list[CheckMessage] = []
    url = str(getattr(settings, "CREDIT_PROVIDER_URL", "") or "")
    if not url.strip():
        errors.append(
            Error(
                "CREDIT_PROVIDER_URL is empty.",
                hint="Set the CREDIT_PROVIDER_URL environment variable to the "
                "provider's https:// URL.",
                id="xinyidai.E007",
            )
        )
    elif is_sandbox_url(url):
        errors.append(
            Error(
                "CREDIT_PROVIDER_URL points at the sandbox provider.",
                hint="Set the CREDIT_PROVIDER_URL environment variable to the real "
                "provider's https:// URL, not sandbox:// nor a /sandbox/ route.",
                id="xinyidai.E001",
            )
        )
    if getattr(settings, "CREDIT_SANDBOX_ENABLED", False):
        errors.append(
            Error(
                "CREDIT_SANDBOX_ENABLED is true: the sandbox provider API is served "
                "under /sandbox/provider/.",
                hint="Run production with config.settings.prod, which disables it.",
                id="xinyidai.E002",
            )
        )
    errors += _secret_errors(
        "CREDIT_PROVIDER_API_KEY", "xinyidai.E003", "xinyidai.E004"
    )
    errors += _secret_errors(
        "CREDIT_PROVIDER_WEBHOOK_SECRET", "xinyidai.E005", "xinyidai.E006"
    )
    return errors


KEYS_HINT = (
    "Set the FIELD_ENCRYPTION_KEYS environment variable to comma-separated Fernet keys "
    '(new key first), each from `python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"`; see docs/webhooks.md.'
)


@register(Tags.security)
def check_field_encryption_keys(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """The keys stored credentials are encrypted with are present and well formed
    (without them no webhook can be signed and no staff member can log in with TOTP).

    xinyidai.E010  FIELD_ENCRYPTION_KEYS is empty, has a malformed or repeated entry
    """
    return [
        Error(problem, hint=KEYS_HINT, id="xinyidai.E010")
        for problem in crypto.key_problems(crypto.configured_keys())
    ]


@register(Tags.security, deploy=True)
def check_field_encryption_keys_deploy(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """A deployment does not encrypt with the development key, which anyone can read
    in the repository.

    xinyidai.E011  FIELD_ENCRYPTION_KEYS holds the development key
    """
    development = getattr(settings, "DEVELOPMENT_FIELD_ENCRYPTION_KEY", None)
    if development and development in crypto.configured_keys():
        return [
            Error(
                "FIELD_ENCRYPTION_KEYS holds the public development key.",
                hint=KEYS_HINT,
                id="xinyidai.E011",
            )
        ]
    return []
