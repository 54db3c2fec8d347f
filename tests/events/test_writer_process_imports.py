"""The writer process starts lean: what it imports to write to SQLite leaves out the modules
that cost most and that it does not need (checked in a fresh interpreter, as it starts)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.events import _spill
from headwater.store.batch import Batch

SOURCE_ROOT = Path(__file__).resolve().parents[2] / "src"

# The writer's own imports, as `_writer_process.main` makes them with a SQLite store.
SCRIPT = """
import sys
from headwater.events._writer_process import main
from headwater.events._spill import store_key
from headwater.events._writer import BatchWriter
from headwater.store.urls import writer_store
import headwater.store.lean_sqlite
print(" ".join(sorted(name for name in ("dataclasses", "inspect", "_hashlib", "sqlalchemy",
                                        "pathlib", "uuid", "platform", "headwater.core.states")
                      if name in sys.modules)))
"""


def test_the_writer_process_imports_none_of_the_costly_modules_it_does_not_need() -> None:
    # pathlib loads urllib.parse and ipaddress, uuid loads platform: together about as much as
    # the rest of the writer's own imports.
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env={"PYTHONPATH": str(SOURCE_ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_spill_keys_are_the_sha256_of_the_url_as_before() -> None:
    url = "sqlite:////tmp/somewhere/headwater.db"
    assert _spill.store_key(url) == hashlib.sha256(url.encode()).hexdigest()[:16]


def test_a_batch_is_immutable_and_compares_by_value() -> None:
    batch = Batch(logs=[{"message": "hi"}], now=1.5)
    assert batch == Batch(logs=[{"message": "hi"}], now=1.5) != Batch()
    assert batch.flow_runs == [] and len(batch) == 1 and batch.heartbeats == ()
    with pytest.raises(AttributeError, match="immutable"):
        batch.now = 2.0  # type: ignore[misc]
    assert Batch().flow_runs is not Batch().flow_runs  # each its own lists
