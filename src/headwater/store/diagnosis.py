"""What a database error means for the user, and what to do next.

The SQL store turns every driver error into a `StoreUnavailableError`; for the errors that have
one clear cause (a damaged file, a read-only disk) the message says that cause and the command
that helps, instead of a generic "check the database is reachable".
"""

from __future__ import annotations

from headwater.errors import StoreCorruptError, StoreUnavailableError

# What SQLite says when a file is damaged, or is not a database at all.
CORRUPT_SIGNS = ("malformed", "not a database", "database corrupt")
READ_ONLY_SIGNS = ("readonly database", "read-only file system", "read-only database")


def corrupt_error(display_url: str, path: str, detail: str) -> StoreCorruptError:
    """The error for a damaged database file, saying what to run."""
    return StoreCorruptError(
        f"The run store at {display_url!r} is corrupt ({detail}): headwater stops rather than "
        f"write into a damaged file. Run `headwater db check` to see what is damaged, then "
        f"`headwater db reset` to move the file aside (to {path}.corrupt-<time>, kept for "
        f"recovery) and start an empty run store.",
        url=display_url, path=path,
    )


def explain(
    display_url: str, path: str | None, what: str, reason: str
) -> StoreUnavailableError | None:
    """A clear error for a driver error with one known cause, or None.

    Args:
        display_url: the store's URL without its password.
        path: the SQLite file, or None for other databases.
        what: what was being done ("open", "read", "write to", ...).
        reason: the driver's message.
    """
    lowered = reason.lower()
    if path is not None and any(sign in lowered for sign in CORRUPT_SIGNS):
        return corrupt_error(display_url, path, reason)
    if any(sign in lowered for sign in READ_ONLY_SIGNS):
        where = repr(path) if path is not None else "the database"
        return StoreUnavailableError(
            f"Could not {what} the run store at {display_url!r}: it is read-only here "
            f"({reason}). Reading runs works; recording them does not. Make {where} and its "
            f"folder writable, or point HEADWATER_HOME at a writable folder.",
            url=display_url,
        )
    return None


def unavailable_error(
    display_url: str, path: str | None, what: str, exc: BaseException, *, conflict: bool
) -> StoreUnavailableError:
    """The error for any driver error: `explain`'s when it knows the cause, else a general one.

    Args:
        exc: the driver's error (or SQLAlchemy's, whose `orig` is the driver's).
        conflict: the rows conflict with rows the database holds (an integrity error): the
            database itself is fine.
    """
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    explained = explain(display_url, path, what, reason)
    if explained is not None:  # a damaged file, a read-only disk: say so, and what to do
        return explained
    if conflict:  # reachable and writable: the rows are the problem
        advice = ("The database is reachable; these rows conflict with rows it holds. "
                  "Please report this as a headwater bug, with this message")
    else:
        advice = ("Check that the database is reachable and writable "
                  "(HEADWATER_DATABASE_URL / HEADWATER_HOME), or set HEADWATER_STORE=memory "
                  "to keep runs in memory")
    return StoreUnavailableError(
        f"Could not {what} the run store at {display_url!r}: {reason}. {advice}.",
        url=display_url,
    )
