"""Files that hold run history or results are private to the user who wrote them.

Folders headwater creates are 0700 (like Prefect's home) and files 0600; a database file left
0644 by an older version is tightened when a store opens it. A folder that already existed is
never changed (a team may share one on purpose): `headwater db check` says when the home
folder lets other users list it.
"""

from __future__ import annotations

import contextlib
import os
import stat

# Paths are given as `Path`s or strs; the work is done with `os` alone: the writer process
# opens its SQLite file through here, and starts without `pathlib`.
StrPath = str | os.PathLike[str]

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dir(path: StrPath) -> None:
    """Create `path` and its missing parents, each 0700; existing folders stay as they are.

    Raises:
        OSError: a folder cannot be created (a read-only disk, no permission).
    """
    missing: list[str] = []
    current = os.fspath(path)
    while not os.path.exists(current):
        missing.append(current)
        parent = os.path.dirname(current.rstrip(os.sep)) or os.curdir  # `Path.parent`
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.mkdir(folder, PRIVATE_DIR)


def make_private_file(path: StrPath) -> None:
    """Create an empty `path` with mode 0600 if it does not exist; tighten it if it does.

    Raises:
        OSError: the file does not exist and cannot be created.
    """
    if not os.path.exists(path):
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    tighten(path)


def tighten(path: StrPath) -> None:
    """Take group and other permissions off a file of this user's (quietly: a read-only disk
    or someone else's file stays as it is)."""
    with contextlib.suppress(OSError):
        info = os.stat(path)
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077)


def is_shared(path: StrPath) -> bool:
    """Whether other users may list or read the folder or file `path`."""
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except OSError:
        return False
