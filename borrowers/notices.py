"""The authorization notice (授权书) text, rendered for one consent.

The template of each version lives in ``ConsentNotice``; the first version is created
by a data migration from the texts below. Rendering fills in the grantee, purpose,
categories, validity and retention, so the enterprise reads exactly what it consents to.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone, translation

from borrowers.models import ConsentNotice, ConsentPurpose
from borrowers.notice_texts import FIRST_VERSION, TEMPLATE_EN, TEMPLATE_ZH
from core.codes import Category

__all__ = [
    "FIRST_VERSION",
    "TEMPLATE_EN",
    "TEMPLATE_ZH",
    "current_notice",
    "render_notice",
]


def current_notice() -> ConsentNotice:
    notice = ConsentNotice.objects.filter(published_at__lte=timezone.now()).first()
    if notice is None:
        # The data migration publishes the first version; re-create it if a flushed
        # database lost it, rather than refusing every consent.
        notice, _created = ConsentNotice.objects.get_or_create(
            version=FIRST_VERSION,
            defaults={"template_zh": TEMPLATE_ZH, "template_en": TEMPLATE_EN},
        )
    return notice


def render_notice(
    *,
    notice: ConsentNotice,
    language: str,
    enterprise_name: str,
    uscc: str,
    grantee_name: str,
    purpose: str,
    categories: list[str],
    valid_from: datetime,
    valid_to: datetime,
    retention_days: int,
) -> str:
    """The notice text for one consent, in ``language`` (zh-hans or en)."""
    template = notice.template_en if language == "en" else notice.template_zh
    separator = ", " if language == "en" else "、"
    with translation.override("en" if language == "en" else "zh-hans"):
        category_names = separator.join(
            str(Category(c).label) for c in sorted(categories)
        )
        purpose_name = str(ConsentPurpose(purpose).label)
    local = timezone.localtime
    return template.format(
        version=notice.version,
        enterprise=enterprise_name,
        uscc=uscc,
        grantee=grantee_name,
        purpose=purpose_name,
        categories=category_names,
        valid_from=local(valid_from).strftime("%Y-%m-%d"),
        valid_to=local(valid_to).strftime("%Y-%m-%d"),
        retention_days=retention_days,
    )
