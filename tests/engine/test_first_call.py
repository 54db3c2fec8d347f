"""The first flow call opens the run store's sink before the engine's modules load, so that the
default store's writer process starts while they load (each case in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
import sys

from headwater import flow

imported = []


class Watch:  # notes every module imported from now on, in order
    def find_spec(self, name, path=None, target=None):
        imported.append(name)


sys.meta_path.insert(0, Watch())


@flow
def hello():
    return "hi"


print(hello())
print(imported.index("headwater.events.store") < imported.index("headwater.engine.calls"))
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    clean.update(HEADWATER_HOME=str(tmp_path), HEADWATER_LOGGING_LEVEL="WARNING", **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT)], env=clean,
                          capture_output=True, text=True, timeout=120)


def test_the_first_flow_call_opens_the_default_store_before_loading_the_engine(
    tmp_path: Path,
) -> None:
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["hi", "True"]
    assert (tmp_path / "headwater.db").exists()


def test_a_store_that_cannot_be_opened_still_fails_the_flow_call_saying_why(
    tmp_path: Path,
) -> None:
    done = _run(tmp_path, HEADWATER_STORE="nonsense")
    assert done.returncode != 0
    assert "HEADWATER_STORE='nonsense' is not a run store" in done.stderr
