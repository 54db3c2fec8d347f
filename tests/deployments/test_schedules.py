"""Schedules: tick arithmetic for cron (with time zones and daylight saving), intervals (with
anchors) and rrules, on plain numbers; bad values are rejected at once, quoted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from headwater.deployments.schedules import (
    Cron,
    Interval,
    RRule,
    Schedule,
    construct_schedules,
    describe_schedules,
)
from headwater.errors import ScheduleError

UTC = timezone.utc


def at(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def iso(ticks: list[float]) -> list[str]:
    return [datetime.fromtimestamp(t, UTC).strftime("%m-%d %H:%M:%S") for t in ticks]


def test_cron_ticks_follow_the_time_zone_across_a_daylight_saving_change() -> None:
    # New York moved its clocks forward on 2024-03-10: 01:30 local is 06:30, then 05:30 UTC
    schedule = Cron("30 1 * * *", timezone="America/New_York")

    ticks = schedule.ticks(at(2024, 3, 9), at(2024, 3, 12), anchor=0)

    assert iso(ticks) == ["03-09 06:30:00", "03-10 06:30:00", "03-11 05:30:00"]


def test_cron_ticks_are_after_the_start_and_at_most_the_end() -> None:
    ticks = Cron("*/15 * * * *").ticks(at(2024, 1, 1, 0, 0), at(2024, 1, 1, 1, 0), anchor=0)

    assert iso(ticks) == ["01-01 00:15:00", "01-01 00:30:00", "01-01 00:45:00", "01-01 01:00:00"]


def test_interval_ticks_line_up_with_the_anchor() -> None:
    schedule = Interval(timedelta(minutes=10), anchor_date=datetime(2024, 1, 1, 0, 5, tzinfo=UTC))

    assert iso(schedule.ticks(at(2024, 1, 1, 3, 0), at(2024, 1, 1, 3, 30), anchor=0)) == [
        "01-01 03:05:00", "01-01 03:15:00", "01-01 03:25:00"]


def test_an_interval_without_anchor_counts_from_the_registration_time() -> None:
    registered = 1_700_000_000.25

    ticks = Interval(2).ticks(registered, registered + 7, anchor=registered)

    assert ticks == [registered + 2, registered + 4, registered + 6]


def test_daily_intervals_in_a_time_zone_keep_the_wall_clock_time() -> None:
    schedule = Interval(timedelta(days=1), timezone="America/New_York",
                        anchor_date=datetime(2024, 3, 1, 9, 0))

    ticks = schedule.ticks(at(2024, 3, 9), at(2024, 3, 12), anchor=0)

    assert iso(ticks) == ["03-09 14:00:00", "03-10 13:00:00", "03-11 13:00:00"]


def test_rrule_ticks_in_a_time_zone_and_with_their_own_dtstart() -> None:
    paris = RRule("FREQ=DAILY;BYHOUR=6;BYMINUTE=30", timezone="Europe/Paris")
    utc = RRule("DTSTART:20240101T000000Z\nRRULE:FREQ=HOURLY;INTERVAL=12")

    assert iso(paris.ticks(at(2024, 3, 9), at(2024, 3, 11), anchor=0)) == [
        "03-09 05:30:00", "03-10 05:30:00"]
    assert iso(utc.ticks(at(2024, 3, 9), at(2024, 3, 10, 6), anchor=0)) == [
        "03-09 12:00:00", "03-10 00:00:00"]


def test_a_finite_rrule_runs_out() -> None:
    schedule = RRule("FREQ=DAILY;COUNT=2")  # from 2020-01-01, as Prefect's

    assert iso(schedule.ticks(at(2019, 12, 31), at(2030, 1, 1), anchor=0)) == [
        "01-01 00:00:00", "01-02 00:00:00"]


@pytest.mark.parametrize("schedule", [
    Cron("0 * * * *"), Cron("0 9 * * mon-fri", timezone="Asia/Tokyo"), Interval(3600),
    Interval(90, anchor_date=datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)),
    RRule("FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=6"),
], ids=lambda s: s.describe())
def test_latest_is_the_last_of_the_ticks_in_the_range(schedule: Schedule) -> None:
    start, end = at(2024, 5, 1), at(2024, 5, 20, 13, 17)

    ticks = schedule.ticks(start, end, anchor=start, limit=100_000)

    assert schedule.latest(start, end, anchor=start) == ticks[-1]
    assert schedule.latest(ticks[-1], end, anchor=start) is None


def test_an_inactive_schedule_has_no_ticks() -> None:
    assert Cron("* * * * *", active=False).ticks(0, 3600, anchor=0) == []


def test_schedules_survive_the_store_as_json() -> None:
    for schedule in (Cron("0 3 * * *", timezone="Europe/Paris", day_or=False),
                     Interval(timedelta(hours=1), anchor_date=datetime(2024, 1, 1)),
                     RRule("FREQ=DAILY", parameters={"full": True}, slug="daily")):
        assert Schedule.from_json(schedule.to_json()) == schedule


@pytest.mark.parametrize(("make", "quoted"), [
    (lambda: Cron("61 * * * *"), "'61 * * * *'"),
    (lambda: Cron("every day"), "'every day'"),
    (lambda: Cron("0 9 * * *", timezone="Mars/Base"), "'Mars/Base'"),
    (lambda: Interval(0), "0"),
    (lambda: Interval(-5), "-5"),
    (lambda: Interval("2"), "'2'"),
    (lambda: RRule("FREQ=SOMETIMES"), "'FREQ=SOMETIMES'"),
], ids=["cron out of range", "cron words", "time zone", "zero", "negative", "text", "rrule"])
def test_a_bad_schedule_is_rejected_at_once_quoting_the_value(make: object, quoted: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        make()  # type: ignore[operator]

    assert quoted in str(raised.value)
    assert isinstance(raised.value, ValueError)  # as Prefect's validation errors are


def test_a_bad_cron_string_says_what_a_cron_string_looks_like() -> None:
    with pytest.raises(ScheduleError, match=r"five fields, minute hour day-of-month"):
        Cron("61 * * * *")


def test_one_kind_of_schedule_at_a_time() -> None:
    with pytest.raises(ScheduleError, match=r"Give only one of .* got interval and cron"):
        construct_schedules(interval=5, cron="* * * * *")

    assert [s.cron for s in construct_schedules(cron=["0 * * * *", "30 * * * *"])] == [
        "0 * * * *", "30 * * * *"]
    assert [s.interval for s in construct_schedules(interval=[60, timedelta(hours=1)])] == [
        timedelta(minutes=1), timedelta(hours=1)]
    assert construct_schedules() == []


def test_schedules_read_as_text() -> None:
    schedules = [Interval(120).to_json(), Cron("0 3 * * *", timezone="UTC").to_json()]

    assert describe_schedules(schedules) == "every 2m, cron '0 3 * * *' (UTC)"
    assert describe_schedules([]) == "on demand only"
