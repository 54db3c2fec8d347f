"""Run one differential script under a Python and capture what it shows, comparably.

A script's *output* is its stdout, followed by `exit code: N` when it exits non-zero. Logs go
to stderr in both Prefect and headwater and are not compared: scripts print what they check.

A script may start with header comments:
- `# env: NAME=VALUE` sets a variable for the run; `{tmp}` in VALUE is a fresh empty folder.
- `# differs: REASON` marks a behaviour headwater changes on purpose; its test is an expected
  failure that says why, and the README counts it separately.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
RECORDED = HERE / "recorded"

# Both sides run with the same deterministic basics; HEADWATER_STORE=memory keeps the shim's
# runs out of any store (Prefect ignores it), so a script runs in a fraction of a second.
_COMMON_ENV = {
    "PYTHONHASHSEED": "0",
    "PYTHONIOENCODING": "utf-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "HEADWATER_STORE": "memory",
}


@dataclass(frozen=True)
class Script:
    """One differential script: its path, header variables and the reason it differs, if any."""

    path: Path
    env: dict[str, str]
    differs: str | None

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def recorded(self) -> Path:
        return RECORDED / f"{self.name}.out"

    @property
    def behaviours(self) -> int:
        """How many behaviours the script checks: one per `# behaviour:` line, at least one."""
        text = self.path.read_text(encoding="utf-8")
        return max(1, len(re.findall(r"^# behaviour:", text, flags=re.MULTILINE)))


def load(path: Path) -> Script:
    env: dict[str, str] = {}
    differs = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if match := re.match(r"# env: (\w+)=(.*)$", line):
            env[match[1]] = match[2].strip()
        elif match := re.match(r"# differs: (.+)$", line):
            differs = match[1].strip()
    return Script(path, env, differs)


def all_scripts() -> list[Script]:
    return [load(path) for path in sorted(SCRIPTS.glob("*.py"))]


def shim_command(script: Script) -> list[str]:
    """The script under headwater, as a Prefect user runs it: `python -m headwater.compat`."""
    return [sys.executable, "-m", "headwater.compat", str(script.path)]


def prefect_command(python: str, script: Script) -> list[str]:
    """The script under real Prefect: plain `python script.py` with that Python."""
    return [python, str(script.path)]


def _environment(script: Script, folder: str) -> dict[str, str]:
    """The caller's environment without its HEADWATER_* settings, HOME in the script's empty
    folder (so `~/.headwater` and `~/.prefect` are fresh), the common basics, the header's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(_COMMON_ENV, HOME=folder)
    for name, value in script.env.items():
        env[name] = value.replace("{tmp}", folder)
    return env


def run(command: list[str], script: Script, *, timeout: float = 300) -> str:
    """Run `command` in a fresh empty folder; return the script's comparable output."""
    with tempfile.TemporaryDirectory(prefix="differential-") as folder:
        done = subprocess.run(
            command, cwd=folder, env=_environment(script, folder), capture_output=True,
            text=True, timeout=timeout, check=False,
        )
    output = done.stdout
    if done.returncode != 0:
        output += f"exit code: {done.returncode}\n"
    return output


def diagnose(command: list[str], script: Script) -> str:
    """The stderr of a run, for a failure message."""
    with tempfile.TemporaryDirectory(prefix="differential-") as folder:
        done = subprocess.run(
            command, cwd=folder, env=_environment(script, folder), capture_output=True,
            text=True, timeout=300, check=False,
        )
    return done.stderr[-4000:]
