"""Dates named in a search query ("on 7 July, 2023", "in March 2024", "yesterday").

People ask about past conversations by when they happened. A message is stored with the time it
was written, and what it reports usually happened shortly before ("last Friday I ..."), so a
named day or month maps to a window of message times: from the day (or the month's first day)
to `after_days` past its end. Recall search uses the window to look deeper among the messages
of that time (see `RecallMemory.search`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december"]
_MONTHS = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)}
_MONTHS.update({name[:3]: i + 1 for i, name in enumerate(_MONTH_NAMES)})
_MONTHS["sept"] = 9
_M = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}}){_ORD}\s+(?:of\s+)?({_M})\.?,?\s+(\d{{4}})\b", re.I)
_MONTH_FIRST = re.compile(rf"\b({_M})\.?\s+(\d{{1,2}}){_ORD},?\s+(\d{{4}})\b", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_YEAR = re.compile(rf"\b({_M})\.?,?\s+(?:of\s+)?(\d{{4}})\b", re.I)
_RELATIVE = re.compile(r"\b(today|yesterday|last\s+week|this\s+week|last\s+month|this\s+month|"
                       r"(\d{1,3})\s+days?\s+ago)\b", re.I)


@dataclass(frozen=True)
class DateWindow:
    start: datetime
    end: datetime
    text: str  # the words of the query it came from


def _day(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None


def _month_window(year: int, month: int, after: timedelta, text: str) -> DateWindow:
    first = datetime(year, month, 1, tzinfo=UTC)
    end = first + timedelta(days=calendar.monthrange(year, month)[1])
    return DateWindow(first, end + after, text)


def date_window(query: str, *, after_days: int = 10, now: datetime | None = None) -> DateWindow | None:
    """The message-time window for the first date the query names, or None.

    A day covers [day, day + 1 + after_days); a month [first day, next month + after_days);
    relative words ("yesterday", "last week", "3 days ago") count from `now` (default: the
    current time) and end at `now`.
    """
    after = timedelta(days=after_days)
    for pattern, order in ((_ISO, "ymd"), (_DAY_FIRST, "dmy"), (_MONTH_FIRST, "mdy")):
        m = pattern.search(query)
        if not m:
            continue
        if order == "ymd":
            year, month, day = int(m[1]), int(m[2]), int(m[3])
        elif order == "dmy":
            year, month, day = int(m[3]), _MONTHS[m[2].lower()], int(m[1])
        else:
            year, month, day = int(m[3]), _MONTHS[m[1].lower()], int(m[2])
        start = _day(year, month, day)
        if start is not None:
            return DateWindow(start, start + timedelta(days=1) + after, m[0])
        if 1 <= month <= 12:  # "February 30": the month it names
            return _month_window(year, month, after, m[0])
    m = _MONTH_YEAR.search(query)
    if m:
        return _month_window(int(m[2]), _MONTHS[m[1].lower()], after, m[0])
    m = _RELATIVE.search(query)
    if m:
        now = now or datetime.now(UTC)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        word = " ".join(m[1].lower().split())
        month_start = today.replace(day=1)
        starts = {"today": today, "yesterday": today - timedelta(days=1),
                  "this week": today - timedelta(days=today.weekday()),
                  "last week": today - timedelta(days=today.weekday() + 7),
                  "this month": month_start,
                  "last month": (month_start - timedelta(days=1)).replace(day=1)}
        start = starts.get(word) or today - timedelta(days=int(m[2] or 0) + 1)
        return DateWindow(start, now, m[0])
    return None
