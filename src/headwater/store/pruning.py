"""Which runs `prune` deletes, decided the same way by every store.

A flow run goes when it is final (Completed, Failed, Cancelled, Crashed), was created before the
cut-off, and belongs to no unfinished run: none of its ancestors (parent flow runs) and none of
its descendants (subflow runs) is still running or waiting. Its task runs, logs, events, asset
rows, dependencies, control and deployment rows go with it.

Task runs go on their own when they ran outside any flow (final, created before the cut-off), or
when their flow run is gone: orphans, which an older `prune` left behind. A task run may reach
the store a moment before its flow run does, so an orphan must also be older than
`ORPHAN_GRACE_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

ORPHAN_GRACE_SECONDS = 3600.0
FLOW_RUNS_PER_STEP = 50  # flow runs whose own rows go in one transaction
TASK_RUNS_PER_STEP = 500  # task runs (with their logs, events...) deleted in one transaction


def doomed_flow_runs(
    candidates: Mapping[str, str | None],
    unfinished: Mapping[str, str | None],
    parents_of: Callable[[set[str]], Mapping[str, str | None]],
) -> list[str]:
    """The candidates that may be deleted: those with no unfinished ancestor or descendant.

    Args:
        candidates: final flow runs created before the cut-off: id -> parent flow run id.
        unfinished: every flow run not in a final state: id -> parent flow run id.
        parents_of: looks up the parents of other flow runs (ids missing from its answer do
            not exist).

    Returns:
        The ids to delete, sorted.
    """
    parent: dict[str, str | None] = {**candidates, **unfinished}
    wanted = {p for p in parent.values() if p is not None and p not in parent}
    while wanted:  # fetch the ancestors nobody has looked up yet, a generation at a time
        found = dict(parents_of(wanted))
        for run_id in wanted:
            parent[run_id] = found.get(run_id)
        wanted = {p for p in found.values() if p is not None and p not in parent}

    def ancestors(run_id: str) -> Iterable[str]:
        seen = {run_id}
        current = parent.get(run_id)
        while current is not None and current not in seen:  # a cycle would be a bug: stop
            seen.add(current)
            yield current
            current = parent.get(current)

    busy = set(unfinished)
    for run_id in unfinished:  # the ancestors of an unfinished run are kept with it
        busy.update(ancestors(run_id))
    return sorted(
        run_id for run_id in candidates
        if run_id not in busy and not any(a in unfinished for a in ancestors(run_id))
    )


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
