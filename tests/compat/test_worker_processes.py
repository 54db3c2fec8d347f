"""The shim reaches worker processes: a Prefect script's tasks run in Dask workers, process
pools and plain spawned processes, which re-import the script as `__mp_main__`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.compat import install, uninstall
from headwater.compat._finder import SHIM_VARIABLE, STARTUP_FOLDER


def run_script(tmp_path: Path, source: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "headwater.compat", str(script)], cwd=tmp_path,
        env={**os.environ, "HEADWATER_STORE": "memory", **env},
        capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_dask_workers_started_by_spawn_or_forkserver_import_prefect(
    tmp_path: Path, method: str,
) -> None:
    ran = run_script(tmp_path, f"""
        import dask
        from prefect import flow, task
        from prefect_dask import DaskTaskRunner

        @task
        def square(x):
            import prefect  # the worker serves prefect imports too
            return x * x

        @flow(task_runner=DaskTaskRunner(cluster_kwargs={{
            "n_workers": 1, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None}}))
        def squares():
            return square.map([1, 2, 3]).result()

        if __name__ == "__main__":
            with dask.config.set({{"distributed.worker.multiprocessing-method": "{method}"}}):
                print(squares())
    """)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().splitlines()[-1] == "[1, 4, 9]"


def test_process_pool_workers_import_prefect(tmp_path: Path) -> None:
    ran = run_script(tmp_path, """
        from prefect import flow, task
        from prefect.task_runners import ProcessPoolTaskRunner

        @task
        def double(x):
            return 2 * x

        @flow(task_runner=ProcessPoolTaskRunner(max_workers=2))
        def doubles():
            return double.map([1, 2]).result()

        if __name__ == "__main__":
            print(doubles())
    """)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().splitlines()[-1] == "[2, 4]"


def test_a_spawned_process_reimporting_the_script_imports_prefect(tmp_path: Path) -> None:
    ran = run_script(tmp_path, """
        import multiprocessing
        from prefect import task

        @task
        def child_sees_prefect():
            import prefect
            return prefect.__name__

        def work(queue):
            queue.put(child_sees_prefect())

        if __name__ == "__main__":
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            process = context.Process(target=work, args=(queue,))
            process.start()
            print(queue.get(timeout=120))
            process.join()
    """)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().splitlines()[-1] == "prefect"


def test_a_sitecustomize_the_startup_one_shadows_still_runs(tmp_path: Path) -> None:
    # Given a user's own sitecustomize on the path, behind the shim's startup folder.
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import os\nos.environ['OWN_SITECUSTOMIZE'] = 'ran'\n")
    env = {**os.environ, SHIM_VARIABLE: "1",
           "PYTHONPATH": os.pathsep.join([STARTUP_FOLDER, str(own)])}

    done = subprocess.run(
        [sys.executable, "-c",
         "import os, sys; import prefect; print(os.environ.get('OWN_SITECUSTOMIZE'), "
         "type(sys.modules['prefect']).__name__)"],
        env=env, capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ran", "CompatModule"]


@pytest.fixture
def clean_environment() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (SHIM_VARIABLE, "PYTHONPATH")}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_install_sets_the_environment_children_need_and_uninstall_removes_it(
    clean_environment: None,
) -> None:
    os.environ["PYTHONPATH"] = "kept"
    install()
    try:
        assert os.environ[SHIM_VARIABLE] == "1"
        assert os.environ["PYTHONPATH"].split(os.pathsep) == [STARTUP_FOLDER, "kept"]
    finally:
        uninstall()
    assert SHIM_VARIABLE not in os.environ and os.environ["PYTHONPATH"] == "kept"


def test_ray_workers_import_prefect(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    ran = run_script(tmp_path, """
        from prefect import flow, task
        from prefect_ray import RayTaskRunner

        @task
        def square(x):
            import prefect  # a Ray worker serves prefect imports too
            return x * x

        @flow(task_runner=RayTaskRunner(init_kwargs={"num_cpus": 1,
                                                     "include_dashboard": False}))
        def squares():
            return square.map([1, 2, 3]).result()

        if __name__ == "__main__":
            print(squares())
    """)

    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().splitlines()[-1] == "[1, 4, 9]"
