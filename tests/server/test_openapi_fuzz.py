"""schemathesis against the server's own OpenAPI spec: generated requests (bounded examples,
a fixed seed) to every operation of a live server over recorded runs; no answer may be a
server error, and every answer must match the spec (status, content type, schema)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.live import run_flows, serving

pytestmark = pytest.mark.timeout(600)
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


def schemathesis_command() -> list[str]:
    found = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(found).exists():
        pytest.skip("schemathesis is not installed (pip install -e '.[dev]')")
    return [found]


def test_generated_requests_get_no_server_error_and_answers_match_the_spec(
    sqlite_url: str, tmp_path: Path,
) -> None:
    command = schemathesis_command()
    run_flows(sqlite_url, tmp_path)
    with serving(sqlite_url) as base:
        result = subprocess.run(
            [*command, "run", f"{base}/openapi.json", "--checks", CHECKS,
             "--max-examples", "25", "--seed", "1", "--no-color", "--workers", "1",
             "--request-timeout", "30"],
            capture_output=True, text=True, timeout=540, cwd=tmp_path,
        )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "generated" in result.stdout  # it really ran cases
