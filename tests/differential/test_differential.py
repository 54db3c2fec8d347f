"""Each script in scripts/ runs under the shim and must show what real Prefect 3.9.1 showed.

The recorded outputs (recorded/) come from `python -m tests.differential.record` with
HEADWATER_PREFECT_PYTHON set; this test needs no Prefect. Scripts run in parallel chunks;
each test compares one script.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.differential.runner import Script, all_scripts, diagnose, run, shim_command

SCRIPTS = all_scripts()
_outputs: dict[str, str] = {}
_CHUNK = 8


def shim_output(script: Script) -> str:
    """The script's output under the shim. Scripts run a chunk at a time, in parallel: the
    test that meets a chunk first runs it, so no single test waits for all of them."""
    if script.name not in _outputs:
        start = SCRIPTS.index(script)
        chunk = [s for s in SCRIPTS[start:start + _CHUNK] if s.name not in _outputs]
        with ThreadPoolExecutor(max_workers=max(2, 2 * (os.cpu_count() or 1))) as pool:
            outputs = pool.map(lambda s: run(shim_command(s), s), chunk)
            _outputs.update(zip((s.name for s in chunk), outputs, strict=True))
    return _outputs[script.name]


def test_there_are_at_least_sixty_behaviours_and_each_has_a_recording() -> None:
    assert sum(s.behaviours for s in SCRIPTS) >= 60
    assert [s.name for s in SCRIPTS if not s.recorded.exists()] == []


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_the_shim_shows_what_prefect_showed(script: Script) -> None:
    if not script.recorded.exists():
        pytest.fail(f"{script.name} has no recording; run `python -m tests.differential.record`")
    expected = script.recorded.read_text(encoding="utf-8")
    actual = shim_output(script)
    if script.differs:
        if actual == expected:
            pytest.fail(f"{script.name} is marked `# differs:` but now matches Prefect; drop it")
        pytest.xfail(script.differs)
    if actual != expected:
        stderr = diagnose(shim_command(script), script)
        assert actual == expected, f"stderr under the shim:\n{stderr}"
