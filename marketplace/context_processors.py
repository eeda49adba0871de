"""The inbox's unread count for the navigation bar, on every page.

Cheap by construction: nothing for an anonymous visitor, and for a signed-in user one
COUNT query (over the partial index of unread items), run only if the page actually
shows the count and at most once per page. A database that fails here costs the
badge, never the page: error pages render the navigation too.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import User
from marketplace import selectors

logger = logging.getLogger(__name__)


def _unread(user: User) -> int:
    try:
        return selectors.unread_count(user=user)
    except DatabaseError:
        logger.warning("inbox unread count unavailable", exc_info=True)
        return 0


def inbox(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"inbox_unread": 0}
    return {"inbox_unread": SimpleLazyObject(lambda: _unread(user))}
