"""Run ids: version-7 UUIDs, unique, in creation order, and short to name by prefix."""

from __future__ import annotations

from uuid import UUID

from headwater.core._ids import uuid7


def test_run_ids_are_version_7_uuids_of_the_rfc_variant() -> None:
    uid = uuid7()
    assert uid.version == 7
    assert uid.variant == "specified in RFC 4122"
    assert UUID(str(uid)) == uid


def test_ten_thousand_run_ids_made_in_a_row_are_all_different() -> None:
    ids = [uuid7() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)


def test_ids_made_in_the_same_millisecond_differ_right_after_the_version_digit() -> None:
    # Given pairs of ids made one after the other, many in the same millisecond
    pairs = [(uuid7(), uuid7()) for _ in range(2_000)]
    same_ms = [(a, b) for a, b in pairs if a.int >> 80 == b.int >> 80]
    assert same_ms  # the clock does not move every two ids

    # Then the first 18 characters (up to "-7NNN") tell them apart: a short prefix names a run
    assert all(str(a)[:18] != str(b)[:18] for a, b in same_ms)


def test_ids_from_different_milliseconds_sort_in_the_order_they_were_made() -> None:
    first = uuid7()
    while (second := uuid7()).int >> 80 == first.int >> 80:
        pass
    assert first < second and str(first) < str(second)
