"""Schedules: when a deployment runs. Cron (with a time zone), interval (with an anchor), rrule.

    Cron("0 9 * * mon-fri", timezone="Europe/Paris")
    Interval(timedelta(minutes=10), anchor_date=datetime(2024, 1, 1, 0, 5))
    RRule("FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=6")

Strings are parsed by croniter (cron, the dialect Prefect uses) and python-dateutil (rrule),
time zones by `zoneinfo`; a bad value is rejected when the schedule is built, with a message that
quotes it. Both libraries are imported here only, when a schedule is built: never by
`import headwater`.

Ticks are computed, never stored as state: every serve process computes the same times for the
same schedule (seconds since the epoch, from timezone-aware datetimes), which is what lets the
store keep one row per deployment and tick.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from headwater.errors import ScheduleError

# RRULEs without a DTSTART start here (in the schedule's time zone), as Prefect's do.
_RRULE_START = datetime(2020, 1, 1)
_CRON_HELP = (
    "A cron string has five fields, minute hour day-of-month month day-of-week, e.g. "
    "'*/5 * * * *' (every five minutes) or '0 9 * * mon-fri' (9:00 on weekdays)."
)


@dataclass(frozen=True)
class Schedule:
    """One schedule of a deployment: exactly one of `interval`, `cron` or `rrule`.

    Build one with `Cron(...)`, `Interval(...)` or `RRule(...)`.

    Attributes:
        interval: the time between runs.
        cron: a cron string (croniter's dialect: five fields, or six with seconds; `@hourly`).
        rrule: an RFC 5545 recurrence rule, e.g. "FREQ=DAILY;BYHOUR=6".
        timezone: an IANA time zone name ("Europe/Paris"); cron and rrule times are read in
            it (daylight-saving changes included). Default UTC.
        anchor_date: for intervals, a time the ticks line up with; default the time the
            deployment was first registered.
        day_or: cron only: with both day-of-month and day-of-week given, run on either (True,
            classic cron) or only when both match (False).
        active: an inactive schedule makes no runs.
        parameters: parameters for runs of this schedule, over the deployment's.
        slug: an optional name for the schedule.
    """

    interval: timedelta | None = None
    cron: str | None = None
    rrule: str | None = None
    timezone: str | None = None
    anchor_date: datetime | None = None
    day_or: bool = True
    active: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)
    slug: str | None = None

    def __post_init__(self) -> None:
        given = [k for k in ("interval", "cron", "rrule") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ScheduleError(
                f"A schedule needs exactly one of interval, cron or rrule; got "
                f"{', '.join(given) or 'none'}. Use Cron('0 * * * *'), Interval(60) or "
                f"RRule('FREQ=DAILY').",
                value=given,
            )
        zone(self.timezone)  # validates
        if self.interval is not None:
            object.__setattr__(self, "interval", _as_interval(self.interval))
        if self.cron is not None:
            _check_cron(self.cron)
        if self.rrule is not None:
            _parse_rrule(self.rrule, self.timezone)
        if not isinstance(self.parameters, dict):
            raise ScheduleError(
                f"Schedule parameters must be a dict, got {self.parameters!r}.",
                value=self.parameters,
            )

    # -- ticks --------------------------------------------------------------------------------
    def ticks(self, after: float, until: float, *, anchor: float, limit: int = 1000) -> list[float]:
        """The times of this schedule's runs in (after, until], oldest first.

        Args:
            after: seconds since the epoch; only later ticks.
            until: seconds since the epoch; no later ticks.
            anchor: the anchor for an interval without `anchor_date` (the deployment's
                registration time).
            limit: at most this many ticks.
        """
        if not self.active or until <= after or limit <= 0:
            return []
        found: list[float] = []
        for tick in self._iterate(after, anchor):
            if tick > until or len(found) >= limit:
                break
            found.append(tick)
        return found

    def latest(self, after: float, until: float, *, anchor: float) -> float | None:
        """The newest tick in (after, until], or None: found without walking every tick in
        between (a minutely cron after a month of downtime is one step, not 40,000)."""
        if not self.active or until <= after:
            return None
        tz = zone(self.timezone)
        found: float | None
        if self.interval is not None:
            found = self._latest_interval(until, anchor)
        elif self.cron is not None:
            from croniter import croniter

            # croniter's get_prev from a tick itself returns that tick's predecessor.
            it = croniter(self.cron, datetime.fromtimestamp(until + 1e-3, tz), day_or=self.day_or)
            found = it.get_prev(datetime).timestamp()
        else:
            assert self.rrule is not None
            rule = _parse_rrule(self.rrule, self.timezone)
            end = datetime.fromtimestamp(until, tz)
            try:
                before = rule.before(end, inc=True)
            except TypeError:
                before = rule.before(end.replace(tzinfo=None), inc=True)
            if before is not None and before.tzinfo is None:
                before = before.replace(tzinfo=tz)
            found = None if before is None else before.timestamp()
        return found if found is not None and after < found <= until else None

    def _latest_interval(self, until: float, anchor: float) -> float | None:
        assert self.interval is not None
        step = self.interval.total_seconds()
        # Start a few steps back and walk forward with the same arithmetic as `ticks`.
        found = None
        for tick in self._interval_ticks(until - 3 * step, anchor, zone(self.timezone)):
            if tick > until:
                break
            found = tick
        return found

    def _iterate(self, after: float, anchor: float) -> Iterator[float]:
        tz = zone(self.timezone)
        start = datetime.fromtimestamp(after, tz)
        if self.interval is not None:
            yield from self._interval_ticks(after, anchor, tz)
        elif self.cron is not None:
            from croniter import croniter

            it = croniter(self.cron, start, day_or=self.day_or)
            while True:
                yield it.get_next(datetime).timestamp()
        else:
            assert self.rrule is not None
            rule = _parse_rrule(self.rrule, self.timezone)
            current = start
            while True:
                try:  # a rule whose DTSTART names a zone works in aware times...
                    nxt = rule.after(current, inc=False)
                except TypeError:  # ...one without, in the schedule's wall-clock time
                    nxt = rule.after(current.replace(tzinfo=None), inc=False)
                if nxt is None:
                    return
                if nxt.tzinfo is None:
                    nxt = nxt.replace(tzinfo=tz)
                yield nxt.timestamp()
                current = nxt.astimezone(tz)

    def _interval_ticks(self, after: float, anchor: float, tz: Any) -> Iterator[float]:
        assert self.interval is not None
        base = self.anchor_date
        exact = anchor if base is None else None  # a datetime would round it to microseconds
        if base is None:
            base = datetime.fromtimestamp(anchor, tz)
        elif base.tzinfo is None:
            base = base.replace(tzinfo=tz)
        step = self.interval.total_seconds()
        whole_days = self.interval % timedelta(days=1) == timedelta(0)
        # Whole days in a time zone keep the wall-clock time across daylight-saving changes;
        # anything shorter is a fixed number of seconds.
        if whole_days and self.timezone is not None:
            local = base.astimezone(tz).replace(tzinfo=None)
            k = math.floor((after - base.timestamp()) / step) - 1
            while True:
                tick = (local + k * self.interval).replace(tzinfo=tz).timestamp()
                if tick > after:
                    yield tick
                k += 1
        else:
            origin = base.timestamp() if exact is None else exact
            k = math.floor((after - origin) / step) + 1
            while True:
                tick = origin + k * step
                if tick > after:  # float rounding may put the first one on `after`
                    yield tick
                k += 1

    # -- storage ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The schedule as JSON-safe values (what the store keeps)."""
        return {
            "interval": None if self.interval is None else self.interval.total_seconds(),
            "cron": self.cron,
            "rrule": self.rrule,
            "timezone": self.timezone,
            "anchor_date": None if self.anchor_date is None else self.anchor_date.isoformat(),
            "day_or": self.day_or,
            "active": self.active,
            "parameters": self.parameters,
            "slug": self.slug,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        """A schedule from `to_json`'s output."""
        anchor = data.get("anchor_date")
        interval = data.get("interval")
        return cls(
            interval=None if interval is None else timedelta(seconds=interval),
            cron=data.get("cron"),
            rrule=data.get("rrule"),
            timezone=data.get("timezone"),
            anchor_date=None if anchor is None else datetime.fromisoformat(anchor),
            day_or=data.get("day_or", True),
            active=data.get("active", True),
            parameters=dict(data.get("parameters") or {}),
            slug=data.get("slug"),
        )

    def describe(self) -> str:
        """A short text for tables: "cron '*/5 * * * *' (UTC)", "every 2s"."""
        where = f" ({self.timezone})" if self.timezone else ""
        if self.interval is not None:
            text = f"every {_seconds_text(self.interval.total_seconds())}"
        elif self.cron is not None:
            text = f"cron {self.cron!r}{where}"
        else:
            text = f"rrule {self.rrule!r}{where}"
        return text if self.active else f"{text} [inactive]"


def describe_schedules(schedules: Iterable[dict[str, Any]]) -> str:
    """Stored schedules (`Schedule.to_json()` each) as text: "every 2s, cron '0 3 * * *'"."""
    return ", ".join(Schedule.from_json(s).describe() for s in schedules) or "on demand only"


# -- Prefect's constructors ---------------------------------------------------------------------
def Cron(  # Prefect's name, a function returning a Schedule
    cron: str, /, timezone: str | None = None, day_or: bool = True, active: bool = True,
    parameters: dict[str, Any] | None = None, slug: str | None = None,
) -> Schedule:
    """A cron schedule, e.g. `Cron("0 9 * * *", timezone="America/New_York")`.

    Raises:
        ScheduleError: the cron string or the time zone is not valid.
    """
    return Schedule(cron=cron, timezone=timezone, day_or=day_or, active=active,
                    parameters=dict(parameters or {}), slug=slug)


def Interval(  # Prefect's name, a function returning a Schedule
    interval: timedelta | float | int, /, anchor_date: datetime | None = None,
    timezone: str | None = None, active: bool = True, parameters: dict[str, Any] | None = None,
    slug: str | None = None,
) -> Schedule:
    """An interval schedule, e.g. `Interval(timedelta(hours=1), anchor_date=datetime(...))`.

    Raises:
        ScheduleError: the interval is not a positive number of seconds or a timedelta.
    """
    return Schedule(interval=_as_interval(interval), anchor_date=anchor_date, timezone=timezone,
                    active=active, parameters=dict(parameters or {}), slug=slug)


def RRule(  # Prefect's name, a function returning a Schedule
    rrule: str, /, timezone: str | None = None, active: bool = True,
    parameters: dict[str, Any] | None = None, slug: str | None = None,
) -> Schedule:
    """An RFC 5545 recurrence rule, e.g. `RRule("FREQ=WEEKLY;BYDAY=MO;BYHOUR=6")`.

    Raises:
        ScheduleError: the rule or the time zone is not valid.
    """
    return Schedule(rrule=rrule, timezone=timezone, active=active,
                    parameters=dict(parameters or {}), slug=slug)


def construct_schedules(
    *, interval: Any = None, cron: Any = None, rrule: Any = None,
    schedule: Schedule | None = None, schedules: Iterable[Any] | None = None,
) -> list[Schedule]:
    """The schedules `flow.serve(...)` / `flow.to_deployment(...)` were given, in one list.

    `interval`, `cron` and `rrule` may each be one value or a list of values.

    Raises:
        ScheduleError: more than one kind was given, or a value is not valid.
    """
    given = [name for name, value in (("interval", interval), ("cron", cron), ("rrule", rrule),
                                      ("schedule", schedule), ("schedules", schedules))
             if value is not None]
    if len(given) > 1:
        raise ScheduleError(
            f"Give only one of interval, cron, rrule, schedule or schedules; got "
            f"{' and '.join(given)}. To combine kinds, pass schedules=[Cron(...), "
            f"Interval(...)].",
            value=given,
        )
    if schedule is not None:
        return [_check_schedule(schedule)]
    if schedules is not None:
        return [_check_schedule(s) for s in schedules]
    if interval is not None:
        values = interval if isinstance(interval, (list, tuple)) else [interval]
        return [Interval(v) for v in values]
    if cron is not None:
        values = [cron] if isinstance(cron, str) else list(cron)
        return [Cron(v) for v in values]
    if rrule is not None:
        values = [rrule] if isinstance(rrule, str) else list(rrule)
        return [RRule(v) for v in values]
    return []


# -- checks -------------------------------------------------------------------------------------
def zone(name: str | None) -> Any:
    """The `tzinfo` for an IANA name (UTC for None).

    Raises:
        ScheduleError: no time zone has that name.
    """
    if name is None:
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ScheduleError(
            f"Unknown time zone {name!r}. Use an IANA name such as 'UTC', 'Europe/Paris' or "
            f"'America/New_York'.",
            value=name,
        ) from exc


def _as_interval(value: Any) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float, timedelta)):
        raise ScheduleError(
            f"An interval must be a number of seconds or a timedelta, got {value!r}. "
            f"E.g. interval=60 or interval=timedelta(minutes=1).",
            value=value,
        )
    interval = value if isinstance(value, timedelta) else timedelta(seconds=value)
    if interval <= timedelta(0):
        raise ScheduleError(
            f"An interval must be longer than 0 seconds, got {value!r}.", value=value
        )
    return interval


def _check_cron(text: Any) -> None:
    if not isinstance(text, str):
        raise ScheduleError(f"A cron string must be a str, got {text!r}. {_CRON_HELP}",
                            value=text)
    from croniter import croniter

    try:
        croniter(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise ScheduleError(
            f"Invalid cron string {text!r}: {exc}. {_CRON_HELP}", value=text
        ) from exc


def _parse_rrule(text: Any, tz_name: str | None) -> Any:
    if not isinstance(text, str):
        raise ScheduleError(f"An rrule must be a str, got {text!r}.", value=text)
    from dateutil.rrule import rrulestr

    tz = zone(tz_name)
    try:
        rule = rrulestr(text, dtstart=_RRULE_START, cache=False)
        rule.after(_RRULE_START.replace(tzinfo=tz) if _aware(rule) else _RRULE_START)
    except (ValueError, TypeError, KeyError) as exc:
        raise ScheduleError(
            f"Invalid rrule {text!r}: {exc}. Write an RFC 5545 rule, e.g. "
            f"'FREQ=DAILY;BYHOUR=6;BYMINUTE=30'.",
            value=text,
        ) from exc
    return rule


def _aware(rule: Any) -> bool:
    start = getattr(rule, "_dtstart", None)  # rruleset has none: its rules are naive here
    return start is not None and start.tzinfo is not None


def _check_schedule(value: Any) -> Schedule:
    if not isinstance(value, Schedule):
        raise ScheduleError(
            f"Expected a schedule such as Cron('0 * * * *') or Interval(60), got {value!r}.",
            value=value,
        )
    return value


def _seconds_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
