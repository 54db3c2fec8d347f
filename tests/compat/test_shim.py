"""The Prefect shim: names resolve to headwater, missing ones say what to use, the CLI helps."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import headwater
from headwater.compat import UnsupportedPrefectFeature, install, uninstall
from headwater.compat.table import NAMES


@pytest.fixture
def shim() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()


def test_every_name_in_the_table_resolves(shim: None) -> None:
    for module_name, names in NAMES.items():
        module = importlib.import_module(module_name)
        for name in names:
            if name != "*":
                assert getattr(module, name) is not None, f"{module_name}.{name}"


def test_prefect_names_are_the_headwater_objects(shim: None) -> None:
    import prefect
    from prefect import flow, task, unmapped
    from prefect.futures import wait
    from prefect.runtime import flow_run
    from prefect_dask.task_runners import DaskTaskRunner

    from headwater.core.annotations import unmapped as hw_unmapped
    from headwater.core.futures import wait as hw_wait
    from headwater.runners.dask import DaskTaskRunner as HwDask

    assert flow is headwater.flow and task is headwater.task
    assert unmapped is hw_unmapped and wait is hw_wait and DaskTaskRunner is HwDask
    assert flow_run.name is None  # outside a run
    assert prefect.runtime.flow_run.run_count == 0


def test_a_prefect_flow_runs_on_headwater(shim: None) -> None:
    from prefect import flow, task
    from prefect.states import Completed

    @task
    def double(x: int) -> int:
        return x * 2

    @flow
    def doubled(x: int) -> int:
        return double(x)

    assert doubled("21") == 42
    assert doubled(1, return_state=True).name == Completed().name


def test_a_missing_name_says_so_and_suggests_the_closest(shim: None) -> None:
    with pytest.raises(UnsupportedPrefectFeature) as info:
        from prefect import flw  # noqa: F401
    assert "'prefect.flw'" in str(info.value) and "Did you mean prefect.flow?" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_a_prefect_feature_headwater_lacks_imports_and_names_what_to_use_instead_on_use(
    shim: None,
) -> None:
    # Given imports of features headwater does not have, they succeed (never at import) ...
    from prefect import deploy, get_client
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client as client_getter
    from prefect.concurrency.sync import concurrency

    # ... and using one raises, saying what to use instead.
    with pytest.raises(UnsupportedPrefectFeature, match="environment variables"):
        Secret.load("password")
    with pytest.raises(UnsupportedPrefectFeature, match=r"flow\.serve"):
        deploy()
    with pytest.raises(UnsupportedPrefectFeature, match="headwater runs ls"):
        get_client()
    with pytest.raises(UnsupportedPrefectFeature, match="headwater runs ls"):
        client_getter(sync_client=True)
    with pytest.raises(UnsupportedPrefectFeature, match="max_workers"):
        concurrency("db", occupy=1)


def test_a_stand_in_can_be_subclassed_and_instantiating_the_subclass_raises(shim: None) -> None:
    from prefect.blocks.core import Block

    class Credentials(Block):  # type: ignore[misc]
        token: str

    with pytest.raises(UnsupportedPrefectFeature, match=r"prefect\.blocks\.core\.Block"):
        Credentials(token="x")


def test_install_is_idempotent(shim: None) -> None:
    install()
    install()
    finders = [f for f in sys.meta_path if type(f).__name__ == "PrefectShimFinder"]
    assert len(finders) == 1


def test_the_shim_takes_precedence_over_an_installed_prefect(tmp_path: Path) -> None:
    fake = tmp_path / "prefect"
    fake.mkdir()
    (fake / "__init__.py").write_text("REAL = True\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import prefect
        assert prefect.REAL
        import headwater.compat
        headwater.compat.install()
        import prefect
        import headwater
        assert prefect.flow is headwater.flow, prefect
        try:
            prefect.REAL
        except AttributeError as exc:  # the shim's module, which names what it lacks
            assert "has no 'prefect.REAL'" in str(exc)
        print("shim wins")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "shim wins"


def _compat(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headwater.compat", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def test_the_command_without_a_script_prints_usage() -> None:
    done = _compat()
    assert done.returncode == 2
    assert "usage: python -m headwater.compat SCRIPT.py" in done.stderr


def test_a_missing_script_is_named_in_the_error() -> None:
    done = _compat("no_such_script.py")
    assert done.returncode == 2
    assert "no script at 'no_such_script.py'" in done.stderr


def test_a_script_that_does_not_compile_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    done = _compat(str(broken))
    assert done.returncode == 2
    assert "is not a Python script that compiles" in done.stderr


def test_arguments_reach_the_script_as_sys_argv(tmp_path: Path) -> None:
    script = tmp_path / "args.py"
    script.write_text("import sys, prefect\nprint(sys.argv[1:], prefect.__name__)\n")
    done = _compat(str(script), "--day", "monday")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['--day', 'monday'] prefect"


def test_prefect_methods_headwater_lacks_raise_naming_the_alternative(shim: None) -> None:
    from prefect import flow, task

    @task
    def load() -> None: ...

    @flow
    def etl() -> None: ...

    # Given methods that need Prefect's server, when called, they say what to use instead.
    with pytest.raises(UnsupportedPrefectFeature, match=r"etl\.serve"):
        etl.deploy(name="x", work_pool_name="pool")
    with pytest.raises(UnsupportedPrefectFeature, match=r"load\.submit"):
        load.delay()
    with pytest.raises(UnsupportedPrefectFeature, match=r"load\.submit"):
        load.apply_async()
    with pytest.raises(NotImplementedError, match="headwater serve"):
        flow.from_source(source="https://github.com/x/y", entrypoint="f.py:etl")
    assert callable(etl.serve) and callable(etl.to_deployment)


def test_prefect_settings_map_onto_unset_headwater_settings() -> None:
    from headwater.compat._environment import apply_prefect_environment

    env = {
        "PREFECT_HOME": "prefect-home",
        "PREFECT_LOCAL_STORAGE_PATH": "results",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "HEADWATER_LOGGING_LEVEL": "DEBUG",  # set explicitly: headwater's own wins
    }
    applied = apply_prefect_environment(env)
    assert applied == {"HEADWATER_HOME": "prefect-home",
                       "HEADWATER_LOCAL_STORAGE_PATH": "results"}
    assert env["HEADWATER_LOGGING_LEVEL"] == "DEBUG"


def test_temporary_settings_are_honoured_by_headwater_and_restored(shim: None) -> None:
    import os

    from prefect.settings import PREFECT_LOGGING_LEVEL, temporary_settings

    from headwater import settings

    before = os.environ.get("HEADWATER_LOGGING_LEVEL")
    with temporary_settings({PREFECT_LOGGING_LEVEL: "WARNING"}) as current:
        assert settings.logging_level() == 30 and current.logging.level == "WARNING"
    assert os.environ.get("HEADWATER_LOGGING_LEVEL") == before
    with pytest.raises(ValueError, match="Unknown setting"):
        temporary_settings({"nope": 1}).__enter__()


def test_prefect_version_is_the_measured_release_with_headwaters_as_local_label(
    shim: None,
) -> None:
    import prefect
    from packaging.version import Version

    version = Version(prefect.__version__)
    assert version.public == "3.9.1"
    assert version.local == f"headwater.{headwater.__version__}"
    assert prefect.__version_info__["version"] == prefect.__version__
