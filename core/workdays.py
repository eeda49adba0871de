"""Working days: the unit banks promise their response times in.

Monday to Friday count; Saturdays and Sundays do not. The official holiday calendar
(and the make-up working weekends) arrive with the SLA issue; until then a public
holiday counts as a working day, which only ever makes a deadline earlier, never
later than promised."""

from __future__ import annotations

import datetime as dt


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """``start`` moved forward by ``days`` working days, same time of day."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
