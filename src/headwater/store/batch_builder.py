"""Decoded records to store rows, per table: what a writer (a thread, or the writer process)
does per batch.

Runs in the writer, never on the hot path. Its input is wire tuples: plain values, the first
of each naming the record's kind, laid out as the events layer's codec says (`layouts`, given
by name: this module never imports the events layer, and the events layer never learns the
store's columns). `READS` says which values each table's rows are made of, by name.

`BatchBuilder.build()` gives a `Batch`; `Batch.inserts()` is its rows per table, which any
insert path can write as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

from headwater.store.assets import EVENT_KINDS, asset_rows
from headwater.store.batch import FINAL_STATE_TYPES, Batch, Row

Layouts = Mapping[int, tuple[str, tuple[str, ...]]]
"""Kind -> (record type name, the names of the values after the kind)."""

_dumps = json.JSONEncoder(ensure_ascii=False).encode  # for values known to be JSON-safe
_FINAL = frozenset(FINAL_STATE_TYPES)

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
        "run_count", "state.data")),
    "RunRenamed": ("_renamed", ("run_id", "kind", "name")),
    "LogEmitted": ("_log", (
        "flow_run_id", "task_run_id", "logger", "level", "message", "timestamp")),
    "DependencyAdded": ("_dependency", ("task_run_id", "upstream_run_id", "parameter")),
    "Event": ("_event", (
        "name", "resource", "related", "payload", "flow_run_id", "task_run_id", "timestamp")),
}


class WireReader:
    """How to read the wire tuples of one codec: per kind, a handler name and a getter that
    picks the values it reads. Made once per codec (`layouts`); kinds no handler reads (a
    record type added after this store) are skipped.

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
            self.getters[kind] = (handler, itemgetter(*(1 + names.index(n) for n in wanted)))


class BatchBuilder:
    """Folds wire tuples into one `Batch`: new runs carry their latest state, other runs get
    one update each, and every state is a `states` row, in order.

    Args:
        reader: how to read the tuples (`WireReader` of the codec that made them).
        running_flows: ids of flow runs seen Running and not yet final; kept up to date here
            and read by the writer to send heartbeats.
    """

    def __init__(self, reader: WireReader, running_flows: set[str]) -> None:
        self.reader = reader
        self.running_flows = running_flows
        self.new_runs: dict[str, Row] = {}
        self.flow_runs: list[Row] = []
        self.task_runs: list[Row] = []
        self.updates: dict[tuple[str, str], Row] = {}
        self.states: list[Row] = []
        self.logs: list[Row] = []
        self.dependencies: list[Row] = []
        self.events: list[Row] = []
        self.asset_events: list[Row] = []
        self.asset_edges: list[Row] = []
        self.count = 0
        self._ids: dict[int, str] = {}
        self._seen: dict[tuple[Any, ...], int] = {}

    def add_wire(self, items: Iterable[tuple[Any, ...]]) -> None:
        """Fold in wire tuples; kinds no handler reads are skipped."""
        # Bound methods made per call, never kept on the builder: kept, they would make it a
        # reference cycle, freed (with every row of its batch) only by the cyclic garbage
        # collector, which in a writer process runs too rarely: its memory grew flow by flow.
        handlers = {kind: (getattr(self, name), get)
                    for kind, (name, get) in self.reader.getters.items()}
        count = 0
        for item in items:
            found = handlers.get(item[0])
            if found is not None:
                handle, get = found
                handle(get(item))
                count += 1
        self.count += count

    def build(
        self, *, heartbeats: tuple[str, ...] = (), now: float = 0.0, replay: bool = False
    ) -> Batch:
        """The batch; `replay` when its records may have been stored already."""
        return Batch(
            flow_runs=self.flow_runs, task_runs=self.task_runs,
            run_updates=list(self.updates.values()), states=self.states, logs=self.logs,
            dependencies=self.dependencies, events=self.events, asset_events=self.asset_events,
            asset_edges=self.asset_edges, heartbeats=heartbeats, now=now, replay=replay,
        )

    def _id(self, value: int) -> str:
        text = self._ids.get(value)
        if text is None:
            h = f"{value:032x}"
            text = self._ids[value] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return text

    # -- one handler per record type ---------------------------------------------------------
    def _flow_run(self, v: tuple[Any, ...]) -> None:
        (run_id, name, flow_name, version, parameters, tags, parent_flow, parent_task, ts,
         identity, entrypoint) = v
        row = _new_run(self._id(run_id), name, parameters, tags, ts)
        row.update(
            flow_name=flow_name[:255], flow_version=None if version is None else version[:255],
            parent_flow_run_id=None if parent_flow is None else self._id(parent_flow),
            parent_task_run_id=None if parent_task is None else self._id(parent_task),
            heartbeat=None, identity=None if identity is None else identity[:300],
            entrypoint=entrypoint,
        )
        self.new_runs[row["id"]] = row
        self.flow_runs.append(row)

    def _task_run(self, v: tuple[Any, ...]) -> None:
        # The hottest kind with states: one dict literal, no helper calls.
        run_id, name, task_name, task_key, flow_run_id, parameters, tags, ts, call = v
        run_id = self._id(run_id)
        row = {
            "id": run_id, "name": name[:255], "parameters": parameters,
            "tags": _dumps(list(tags)) if tags else "[]", "created": ts,
            "state_type": None, "state_name": None, "state_message": None,
            "state_timestamp": None, "start_time": None, "end_time": None, "run_count": 0,
            "result": None, "task_name": task_name[:255], "task_key": task_key[:255],
            "flow_run_id": None if flow_run_id is None else self._id(flow_run_id),
            # its place among the calls of its task in its flow run: "key#n" or "key#n.i"
            "identity": None if call is None else f"{task_key}#{call}"[:300],
        }
        self.new_runs[run_id] = row
        self.task_runs.append(row)

    def _state(self, v: tuple[Any, ...]) -> None:
        run_id, kind, type, name, message, ts, run_count, data = v
        run_id = self._id(run_id)
        final = type in _FINAL
        name = name[:64]
        key = (run_id, ts, type, run_count)
        seq = self._seen.get(key)  # almost always None: the same transition twice in a batch
        self._seen[key] = seq = 0 if seq is None else seq + 1
        self.states.append({
            "run_id": run_id, "kind": kind, "type": type, "name": name, "message": message,
            "timestamp": ts, "run_count": run_count, "data": data, "seq": seq,
        })
        if kind == "flow":
            if final:
                self.running_flows.discard(run_id)
            elif type == "RUNNING":
                self.running_flows.add(run_id)
        row = self.new_runs.get(run_id)
        if row is not None:  # created in this batch (most task runs): fold in place
            row["state_type"] = type
            row["state_name"] = name
            row["state_message"] = message
            row["state_timestamp"] = ts
            row["run_count"] = run_count
            if type == "RUNNING":
                if row["start_time"] is None:
                    row["start_time"] = ts
            elif final:
                row["end_time"] = ts
                row["result"] = data
            return
        change: Row = {
            "state_type": type, "state_name": name, "state_message": message,
            "state_timestamp": ts, "run_count": run_count,
        }
        if type == "RUNNING":
            change["start_time"] = ts
        if final:
            change["end_time"] = ts
            change["result"] = data
        self._change(kind, run_id, change)

    def _renamed(self, v: tuple[Any, ...]) -> None:
        run_id, kind, name = v
        self._change(kind, self._id(run_id), {"name": name[:255]})

    def _change(self, kind: str, run_id: str, change: Row) -> None:
        row = self.new_runs.get(run_id)
        if row is None:
            row = self.updates.get((kind, run_id))
            if row is None:
                self.updates[(kind, run_id)] = {"id": run_id, "kind": kind, **change}
                return
        if "start_time" in change and row.get("start_time") is not None:
            del change["start_time"]
        row.update(change)

    def _log(self, v: tuple[Any, ...]) -> None:
        flow_run_id, task_run_id, logger, level, message, ts = v
        self.logs.append({
            "flow_run_id": None if flow_run_id is None else self._id(flow_run_id),
            "task_run_id": None if task_run_id is None else self._id(task_run_id),
            "logger": logger[:255], "level": level, "message": message, "timestamp": ts,
        })

    def _dependency(self, v: tuple[Any, ...]) -> None:
        task_run_id, upstream_run_id, parameter = v
        self.dependencies.append({
            "task_run_id": self._id(task_run_id), "upstream_run_id": self._id(upstream_run_id),
            "parameter": None if parameter is None else parameter[:255],
        })

    def _event(self, v: tuple[Any, ...]) -> None:
        name, resource, related, payload, flow_run_id, task_run_id, ts = v
        flow_id = None if flow_run_id is None else self._id(flow_run_id)
        task_id = None if task_run_id is None else self._id(task_run_id)
        self.events.append({
            "name": name[:255], "resource": resource, "related": related, "payload": payload,
            "flow_run_id": flow_id, "task_run_id": task_id, "timestamp": ts,
        })
        if name in EVENT_KINDS:  # also kept by asset key, for asset history and lineage
            related_items = _loads(related)
            asset, edges = asset_rows(
                name, _loads(resource), related_items if isinstance(related_items, list) else (),
                payload, flow_id, task_id, ts,
            )
            if asset is not None:
                self.asset_events.append(asset)
                self.asset_edges.extend(edges)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _new_run(
    run_id: str, name: str, parameters: str, tags: tuple[str, ...], created: float
) -> Row:
    return {
        "id": run_id, "name": name[:255], "parameters": parameters,
        "tags": _dumps(list(tags)) if tags else "[]", "created": created,
        "state_type": None, "state_name": None, "state_message": None, "state_timestamp": None,
        "start_time": None, "end_time": None, "run_count": 0, "result": None,
    }
