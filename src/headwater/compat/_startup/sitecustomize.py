"""Started with every Python process a shimmed run starts, so its workers serve `prefect` too.

`headwater.compat.install()` puts this folder first on `PYTHONPATH` and sets
`HEADWATER_PREFECT_SHIM=1`. Python imports `sitecustomize` at startup, so a child interpreter
(a Dask worker, a process-pool or Ray worker, a spawned process re-importing the script as
`__mp_main__`) installs the shim before it imports anything of the user's. Then the
`sitecustomize` this one shadows, if any, runs as it would have. Nothing else is imported.
"""

import os
import sys


def _run_shadowed_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    this = sys.modules.pop("sitecustomize", None)
    try:
        # The next one on the path, if there is one.
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        if this is not None:
            sys.modules["sitecustomize"] = this
    finally:
        sys.path[:] = saved


if os.environ.get("HEADWATER_PREFECT_SHIM") == "1":
    try:
        from headwater.compat import install

        install()
    except Exception as exc:  # never stop an interpreter from starting
        print(f"headwater: could not install the Prefect shim in this process: {exc!r}",
              file=sys.stderr)
_run_shadowed_sitecustomize()
