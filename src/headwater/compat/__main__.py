"""`python -m headwater.compat script.py [args...]`: run a Prefect script on headwater."""

from __future__ import annotations

import os
import runpy
import sys

USAGE = """usage: python -m headwater.compat SCRIPT.py [ARGS...]

Runs SCRIPT.py as __main__ (like `python SCRIPT.py`), with `import prefect` and
`import prefect_dask` served by headwater. ARGS are passed to the script in sys.argv.
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not args else sys.stdout, end="")
        return 2 if not args else 0
    script = args[0]
    if not os.path.isfile(script):
        print(f"error: no script at {script!r}. Check the path (relative to {os.getcwd()!r}).\n",
              file=sys.stderr)
        print(USAGE, file=sys.stderr, end="")
        return 2
    try:
        with open(script, encoding="utf-8") as source:
            compile(source.read(), script, "exec")
    except (SyntaxError, UnicodeDecodeError) as exc:
        print(f"error: {script!r} is not a Python script that compiles: {exc}", file=sys.stderr)
        return 2

    from headwater.compat import install

    install()
    sys.argv = [script, *args[1:]]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
