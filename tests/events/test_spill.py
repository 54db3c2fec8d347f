"""Spill files name their format, so one left by another version of headwater is set aside
with a warning instead of being read with today's layouts."""

from __future__ import annotations

import logging
import marshal
import struct
from pathlib import Path

import pytest

from headwater.events import _spill


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEADWATER_HOME", str(tmp_path))
    return tmp_path


def frames_of(items: list[list[tuple[object, ...]]]) -> bytes:
    out = b""
    for frame in items:
        body = marshal.dumps(frame)
        out += struct.pack(">I", len(body)) + body
    return out


def test_a_saved_spill_is_taken_over_with_its_frames_in_order(home: Path) -> None:
    spill = _spill.Spill("k1", memory_limit=0)
    spill.put([(1, 10), (1, 11)])
    spill.put([(2, 20)])
    saved = spill.save()
    assert saved is not None and saved.suffix == ".saved"

    assert list(_spill.take_over("k1")) == [[(1, 10), (1, 11)], [(2, 20)]]
    assert not list((home / "spill").iterdir())  # read, then deleted


def test_a_spill_kept_in_its_own_file_reads_back_in_order(home: Path) -> None:
    spill = _spill.Spill("k2", memory_limit=0)
    for i in range(3):
        spill.put([(1, i)])
    taken = []
    while (items := spill.peek()) is not None:
        taken.append(items)
        spill.pop()
    assert taken == [[(1, 0)], [(1, 1)], [(1, 2)]]


@pytest.mark.parametrize("first", [None, "other-format"], ids=["no format frame", "another"])
def test_a_spill_file_of_another_version_is_set_aside_unread_with_a_warning(
    home: Path, first: str | None, caplog: pytest.LogCaptureFixture,
) -> None:
    folder = home / "spill"
    folder.mkdir()
    frames = [[(1, 10)], [(2, 20)]]
    if first is not None:
        frames.insert(0, [("headwater-spill", first)])
    (folder / "k3-999999-abc.saved").write_bytes(frames_of(frames))

    with caplog.at_level(logging.WARNING, logger="headwater.store"):
        assert list(_spill.take_over("k3")) == []

    [kept] = folder.iterdir()
    assert kept.name == "k3-999999-abc.incompatible"
    assert kept.read_bytes() == frames_of(frames)  # nothing lost: kept as it was
    [message] = [r.getMessage() for r in caplog.records]
    assert "another version of headwater" in message and str(kept) in message
    assert _spill.FORMAT in message


def test_an_empty_spill_file_is_simply_removed(home: Path) -> None:
    folder = home / "spill"
    folder.mkdir()
    (folder / "k4-999999-abc.saved").write_bytes(b"")
    assert list(_spill.take_over("k4")) == []
    assert not list(folder.iterdir())


@pytest.mark.parametrize("memory_limit", [10, 0], ids=["in memory", "in its file"])
def test_a_spill_counts_the_records_it_holds_not_the_marker_of_a_replayed_frame(
    home: Path, memory_limit: int
) -> None:
    # Given a spill holding a replayed frame of two records and a new frame of one
    spill = _spill.Spill("k3", memory_limit=memory_limit)
    spill.put([_spill.REPLAY, (1, 10), (1, 11)])
    spill.put([(2, 20)])

    # Then it says it holds three records (what a warning tells the user, and what
    # `headwater db recover` will write), and none are left once both frames are taken
    assert len(spill) == 3
    while spill.peek() is not None:
        spill.pop()
    assert len(spill) == 0 and spill.lost == 0
