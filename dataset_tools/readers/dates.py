"""Dates in collected pages: metadata timestamps, and the date lines that related articles leave.

In: one line of text. Out: the timestamp it gives in UTC (or why it gives none), or whether the
line has the shape of a date with a clock. Nothing here knows where a layout puts these lines:
the collector's header finds its run of timestamps, its body the date line at the end of the
visible page; a reader of saved HTML pages can use the same tests.

Every pattern is anchored and free of nested quantifiers (a group is at most optional, never
repeated), and the related-date patterns only try a line of bounded length, so a long line
cannot make one backtrack.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from dataset_tools.schema import EARLIEST, LATEST

# A line in the place of a timestamp that starts like a date is a timestamp, valid or not.
DATE_START = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\S*)?")
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"\s?(?P<offset>Z|z|[+-]\d{2}(?::?\d{2})?)?"
)
# The shapes most timestamps take: ASCII digits, seconds optional, no fraction, "Z" or an offset in
# hours and minutes. `datetime.fromisoformat` reads them as they are, to the same numbers as the
# extended form `parse_timestamp` rewrites other shapes into.
_PLAIN_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:Z|[+-][0-9]{2}:?[0-9]{2})")


def parse_timestamp(value: str) -> tuple[datetime | None, str | None]:
    """(the timestamp in UTC, None), or (None, why it is not a usable timestamp).

    A usable timestamp is an ISO-8601 date-time (a "T" or a space between date and time,
    seconds and a fraction optional) with a UTC offset ("Z", "+03", "+0300" or "+03:00"), that
    exists in the calendar and lies within the schema's years (`schema.EARLIEST` to `LATEST`).
    """
    if _PLAIN_TIMESTAMP.fullmatch(value):
        # A plain shape is parsed as it is, without rewriting it into the extended ISO form
        # below: the fields are the same numbers, so the result is too. A stamp that fails here
        # takes the long way, which names the problem.
        try:
            stamp = datetime.fromisoformat(value).astimezone(timezone.utc)
        except (ValueError, OverflowError):
            pass
        else:
            if EARLIEST <= stamp < LATEST:
                return stamp, None
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None, f"not an ISO-8601 date-time with a UTC offset: {value!r}"
    offset = match.group("offset")
    if offset is None:
        return None, f"timestamp without a UTC offset: {value!r}"
    if offset in ("Z", "z"):
        offset = "+00:00"
    else:
        digits = offset[1:].replace(":", "")
        digits = digits if len(digits) == 4 else digits + "00"
        offset = f"{offset[0]}{digits[:2]}:{digits[2:]}"
    second = match.group("second") or "00"
    fraction = (match.group("fraction") or "")[:6]
    iso = f"{match.group('date')}T{match.group('hour')}:{match.group('minute')}:{second}"
    if fraction:
        iso += "." + fraction.ljust(6, "0")
    try:
        stamp = datetime.fromisoformat(iso + offset).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None, f"impossible timestamp {value!r}"
    if not EARLIEST <= stamp < LATEST:
        return None, f"timestamp {value!r} is outside {EARLIEST:%Y}-{LATEST.year - 1}"
    return stamp, None


def is_whole_timestamp(value: str) -> bool:
    """Whether `value` has a timestamp's shape through to its UTC offset (a line cut short has
    no minutes or no offset yet); it may still be impossible, which `parse_timestamp` tells."""
    stamp = _TIMESTAMP.fullmatch(value)
    return stamp is not None and stamp.group("offset") is not None


# A related article's date line, in its localized forms: a date and a clock in either order,
# with or without the year, a time zone or a 12-hour mark: "30 December 2025, 00:05 GMT",
# "30 December, 00:05 GMT", "5 de septiembre 2024, 18:39 GMT", "30. Dezember 2025 um 00:05 Uhr",
# "December 30, 2025, 12:05 AM", "11:54 22.12.2025", "20:45 GMT 09.01.2026", "2025年12月30日 00:05".
# Month names are any word, in any script: a list of them would miss the next language. Each
# piece is bounded and the line at most _RELATED_DATE_MAX characters long, so a failing match
# stops early.
# Possessive (`{m,n}+`) where giving characters back could not help a match: a failing line
# stops at once.
_NAME = r"[^\W\d_][^\s\d,.،，]{0,15}+\.?"  # a month or weekday name, maybe abbreviated
_DAY = r"\d{1,2}+(?:\.|[^\W\d_]{1,2}+\.?)?"  # 7, 7., 7th, 1er
_YEAR = r"\d{4}(?:\s?[^\W\d_]{1,4}+\.?)?"  # 2026, 2026 г.
_LINK = r"(?:[^\W\d_]{1,3}+\s)?"  # a short word before a month or year: "de", "of"
_NUMERIC_DATE = r"\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?\.?"  # 30.12.2025, 2025-12-30, 30/12
# 30 December [2025], 5 de mayo, 30 tháng 12 (a month named in two words, or by its number)
_DAY_MONTH = rf"{_DAY}\s?{_LINK}{_NAME}(?:\s(?:[^\W\d_]{{1,10}}+|\d{{1,2}}+(?!\d)))?(?:[,،]?\s{_LINK}{_YEAR})?"
_MONTH_DAY = rf"{_NAME}\s{_DAY}(?:[,،]?\s{_YEAR})?"  # December 30[, 2025]
_YEAR_MONTH_DAY = rf"\d{{4}}\.?\s{_NAME}\s{_DAY}"  # 2025. december 30.
_CJK_DATE = r"(?:\d{4}\s?[年년]\s?)?\d{1,2}\s?[月월]\s?\d{1,2}\s?[日일]"
_CLOCK = r"\d{1,2}[:h]\d{2}(?::\d{2})?(?:\s?[AaPp]\.?\s?[Mm]\.?)?"
_OFFSET = r"[+−-]\s?\d{1,2}(?::?\d{2})?"
_ZONE = rf"(?:\s?\(?(?:[A-ZА-Я]{{2,5}}(?:\s?{_OFFSET})?|{_OFFSET})\)?)?(?:\s[^\W\d_]{{1,4}}\.?)?"  # GMT, UTC+3, Uhr
# Between the date and the clock: a comma or a dash, or a space with maybe a short word ("at", "à", "um").
_BETWEEN = r"(?:\s?[,،，|•·–—-]\s?|\s(?:[^\W\d_]{1,5}\.?,?\s)?)"
# The two orders apart, chosen by how the line starts, and the date shapes in the order each
# order most often has them (a failing alternative costs as much as the match).
_RELATED_DATE = re.compile(  # [weekday,] date, clock
    rf"(?:{_NAME},\s)?(?:{_DAY_MONTH}|{_NUMERIC_DATE}|{_MONTH_DAY}|{_YEAR_MONTH_DAY}|{_CJK_DATE})"
    rf"{_BETWEEN}{_CLOCK}{_ZONE}"
)
_RELATED_CLOCK_DATE = re.compile(  # clock, date
    rf"{_CLOCK}{_ZONE}{_BETWEEN}(?:{_NUMERIC_DATE}|{_DAY_MONTH}|{_MONTH_DAY}|{_YEAR_MONTH_DAY}|{_CJK_DATE}){_ZONE}"
)
# The shapes most related dates take ("30 December 2025, 00:05 GMT", "30 December, 00:05 GMT",
# "5 de mayo 2024, 18:39 GMT", "11:54 22.12.2025") are told by this short pattern first: the
# general ones above cost about three times as much on each line.
_USUAL_RELATED_DATE = re.compile(
    r"\d{1,2} (?:de )?[^\W\d_][^\s\d,.]{0,15}+(?: \d{4})?, \d{2}:\d{2} GMT|\d{2}:\d{2} \d{2}\.\d{2}\.\d{4}"
)
_RELATED_DATE_MAX = 64


def is_date_and_clock(line: str) -> bool:
    """Whether `line` has the shape of a related article's date line: a date and a clock in either
    order (any month name, with or without the year, a weekday, a zone or a 12-hour mark), in at
    most 64 characters. The shape alone: whether the line is text after all is the caller's call."""
    if len(line) > _RELATED_DATE_MAX:
        return False
    if _USUAL_RELATED_DATE.fullmatch(line) is None:
        # Every shape holds a clock, "12:05" or "12h05": a line without ":" or "h" is text.
        if ":" not in line and "h" not in line:
            return False
        clock_first = line[:1].isdecimal() and (":" in line[1:3] or "h" in line[1:3])
        if (_RELATED_CLOCK_DATE if clock_first else _RELATED_DATE).fullmatch(line) is None:
            return False
    return True
