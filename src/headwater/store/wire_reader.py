"""Which values of the events layer's wire tuples the batch builder reads, and how it finds them.

The codec lays each record type's values out by name (`layouts`, given by name: the store never
imports the events layer). `READS` names, per record type, the builder's handler and the values
it unpacks, in that order; `WireReader` matches the two once per codec.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter
from typing import Any

Layouts = Mapping[int, tuple[str, tuple[str, ...]]]
"""Kind -> (record type name, the names of the values after the kind)."""

# Record type -> (its handler, the values it reads, in the order it unpacks them).
READS: dict[str, tuple[str, tuple[str, ...]]] = {
    "FlowRunCreated": ("_flow_run", (
        "flow_run_id", "name", "flow_name", "flow_version", "parameters", "tags",
        "parent_flow_run_id", "parent_task_run_id", "timestamp", "identity", "entrypoint")),
    "TaskRunCreated": ("_task_run", (
        "task_run_id", "name", "task_name", "task_key", "flow_run_id", "parameters", "tags",
        "timestamp", "call")),
    "StateChanged": ("_state", (
        "run_id", "kind", "state.type", "state.name", "state.message", "state.timestamp",
        "state.data", "run_count")),
    "RunRenamed": ("_renamed", ("run_id", "kind", "name")),
    "LogEmitted": ("_log", (
        "flow_run_id", "task_run_id", "logger", "level", "message", "timestamp")),
    "DependencyAdded": ("_dependency", ("task_run_id", "upstream_run_id", "parameter")),
    "Event": ("_event", (
        "name", "resource", "related", "payload", "flow_run_id", "task_run_id", "timestamp")),
}


class WireReader:
    """How to read the wire tuples of one codec: per kind, a handler name and a getter that
    picks the kind and the values it reads (None where the tuple is just that, as it is
    while the codec and `READS` agree: the handler then takes the tuple itself). Made once
    per codec (`layouts`); kinds no handler reads (a record type added after this store) are
    skipped.

    Raises:
        StoreError: a record type lacks a value its handler reads.
    """

    def __init__(self, layouts: Layouts) -> None:
        from headwater.errors import StoreError

        self.getters: dict[int, tuple[str, Any]] = {}
        for kind, (record, names) in layouts.items():
            if record not in READS:
                continue
            handler, wanted = READS[record]
            missing = [name for name in wanted if name not in names]
            if missing:
                raise StoreError(
                    f"Records of type {record!r} carry {list(names)!r}, without {missing!r}, "
                    f"which the run store needs. Use the headwater version that wrote them, "
                    f"or add the fields back to {record}.")
            if names == wanted:  # no getter: a tuple made per record costs more than its use
                self.getters[kind] = (handler, None)
            else:
                self.getters[kind] = (
                    handler, itemgetter(0, *(1 + names.index(n) for n in wanted)))
