"""`headwater server start`: safe by default, and a real process serving the UI and the API."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from headwater.errors import SettingError
from headwater.server.serve import server_settings
from tests.server.live import free_port
from tests.store.processes import env_for


def test_binding_beyond_localhost_without_a_password_warns() -> None:
    local = server_settings("127.0.0.1", 4200, {})
    exposed = server_settings("0.0.0.0", 4200, {})
    guarded = server_settings("0.0.0.0", 4200, {"HEADWATER_SERVER_AUTH": "ada:s3cret"})

    assert local.warning is None and local.auth is None
    assert exposed.warning is not None and "HEADWATER_SERVER_AUTH" in exposed.warning
    assert guarded.warning is None and guarded.auth == "ada:s3cret"


def test_a_malformed_password_setting_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingError, match="must be 'user:password'") as info:
        server_settings("127.0.0.1", 4200, {"HEADWATER_SERVER_AUTH": "s3cretonly"})

    assert "s3cretonly" not in str(info.value)


def test_the_command_serves_the_ui_and_the_api_until_stopped(sqlite_url: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "headwater.cli.main", "server", "start", "--port", str(port)],
        env=env_for(sqlite_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # only to stop a hang
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/runs", timeout=10)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
                time.sleep(0.1)
        api = httpx.get(f"http://127.0.0.1:{port}/api/flow_runs", timeout=10)
        script = httpx.get(f"http://127.0.0.1:{port}/static/vendor/cytoscape.min.js", timeout=10)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)

    assert page.status_code == 200 and "/static/app.js" in page.text
    assert api.json() == {"items": [], "next_cursor": None}
    assert script.status_code == 200 and len(script.content) > 100_000
    assert f"http://127.0.0.1:{port}/" in out
