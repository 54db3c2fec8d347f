"""Wire tuples to store rows: what the writer (a thread, or the writer process) does per batch.

Runs in the writer, never on the hot path. Its input is the compact form of `_wire.py`, so the
same code folds records in this process and in the writer process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from headwater.events import _wire
from headwater.events._json import encode_json, placeholder
from headwater.events._wire import (
    DEPENDENCY,
    EVENT,
    FINAL_TYPES,
    FLOW,
    LOG,
    RENAME,
    STATE,
    TASK,
)
from headwater.store.assets import EVENT_KINDS, asset_rows
from headwater.store.base import Batch, Row

__all__ = ["BatchBuilder", "encode_json", "placeholder"]

_dumps = json.JSONEncoder(ensure_ascii=False).encode  # for values known to be JSON-safe


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class BatchBuilder:
    """Folds records into one `Batch`: new runs carry their latest state, other runs get one
    update each, and every state is a `states` row, in order.

    Args:
        running_flows: ids of flow runs seen Running and not yet final; kept up to date here
            and read by the writer to send heartbeats.
    """

    def __init__(self, running_flows: set[str]) -> None:
        self.running_flows = running_flows
        self.new_runs: dict[str, Row] = {}
        self.flow_runs: list[Row] = []
        self.task_runs: list[Row] = []
        self.updates: dict[tuple[str, str], Row] = {}
        self.states: list[Row] = []
        self._seen: dict[tuple[Any, ...], int] = {}
        self.logs: list[Row] = []
        self.dependencies: list[Row] = []
        self.events: list[Row] = []
        self.asset_events: list[Row] = []
        self.asset_edges: list[Row] = []
        self.count = 0
        self._ids: dict[int, str] = {}

    def add_wire(self, items: Iterable[tuple[Any, ...]]) -> None:
        """Fold in wire tuples (`_wire.py`); unknown kinds are skipped."""
        # Bound methods made per call, never kept on the builder: kept, they would make it a
        # reference cycle, freed (with every row of its batch) only by the cyclic garbage
        # collector, which in a writer process runs too rarely: its memory grew flow by flow.
        handlers: dict[int, Any] = {
            STATE: self._state, LOG: self._log, TASK: self._task_run, FLOW: self._flow_run,
            DEPENDENCY: self._dependency, RENAME: self._renamed, EVENT: self._event,
        }
        count = 0
        for item in items:
            handler = handlers.get(item[0])
            if handler is not None:
                handler(item)
                count += 1
        self.count += count

    def add_all(self, records: Iterable[Any]) -> None:
        """Fold in record objects; objects that are not records are ignored."""
        self.add_wire(item for item in map(_wire.encode, records) if item is not None)

    def add(self, record: Any) -> None:
        self.add_all((record,))

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

    # -- one handler per kind ----------------------------------------------------------------
    def _flow_run(self, t: tuple[Any, ...]) -> None:
        (_, run_id, name, flow_name, version, parameters, tags, parent_flow, parent_task, ts,
         identity, entrypoint) = t
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

    def _task_run(self, t: tuple[Any, ...]) -> None:
        # The hottest kind with STATE: one dict literal, no helper calls.
        _, run_id, name, task_name, task_key, flow_run_id, parameters, tags, ts, identity = t
        run_id = self._id(run_id)
        row = {
            "id": run_id, "name": name[:255], "parameters": parameters,
            "tags": _dumps(list(tags)) if tags else "[]", "created": ts,
            "state_type": None, "state_name": None, "state_message": None,
            "state_timestamp": None, "start_time": None, "end_time": None, "run_count": 0,
            "result": None, "task_name": task_name[:255],
            "task_key": task_key[:255],
            "flow_run_id": None if flow_run_id is None else self._id(flow_run_id),
            "identity": None if identity is None else identity[:300],
        }
        self.new_runs[run_id] = row
        self.task_runs.append(row)

    def _state(self, t: tuple[Any, ...]) -> None:
        _, run_id, is_flow, kind, name, message, ts, run_count, data = t
        run_id = self._id(run_id)
        final = kind in FINAL_TYPES
        name = name[:64]
        run_kind = "flow" if is_flow else "task"
        key = (run_id, ts, kind, run_count)
        seq = self._seen.get(key)  # almost always None: the same transition twice in a batch
        self._seen[key] = seq = 0 if seq is None else seq + 1
        self.states.append({
            "run_id": run_id, "kind": run_kind, "type": kind, "name": name, "message": message,
            "timestamp": ts, "run_count": run_count, "data": data, "seq": seq,
        })
        if is_flow:
            if final:
                self.running_flows.discard(run_id)
            elif kind == "RUNNING":
                self.running_flows.add(run_id)
        row = self.new_runs.get(run_id)
        if row is not None:  # created in this batch (most task runs): fold in place
            row["state_type"] = kind
            row["state_name"] = name
            row["state_message"] = message
            row["state_timestamp"] = ts
            row["run_count"] = run_count
            if kind == "RUNNING":
                if row["start_time"] is None:
                    row["start_time"] = ts
            elif final:
                row["end_time"] = ts
                row["result"] = data
            return
        change: Row = {
            "state_type": kind, "state_name": name, "state_message": message,
            "state_timestamp": ts, "run_count": run_count,
        }
        if kind == "RUNNING":
            change["start_time"] = ts
        if final:
            change["end_time"] = ts
            change["result"] = data
        self._change(run_kind, run_id, change)

    def _renamed(self, t: tuple[Any, ...]) -> None:
        _, run_id, is_flow, name = t
        self._change("flow" if is_flow else "task", self._id(run_id), {"name": name[:255]})

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

    def _log(self, t: tuple[Any, ...]) -> None:
        _, flow_run_id, task_run_id, logger, level, message, ts = t
        self.logs.append({
            "flow_run_id": None if flow_run_id is None else self._id(flow_run_id),
            "task_run_id": None if task_run_id is None else self._id(task_run_id),
            "logger": logger[:255], "level": level, "message": message, "timestamp": ts,
        })

    def _dependency(self, t: tuple[Any, ...]) -> None:
        _, task_run_id, upstream_run_id, parameter = t
        self.dependencies.append({
            "task_run_id": self._id(task_run_id), "upstream_run_id": self._id(upstream_run_id),
            "parameter": None if parameter is None else parameter[:255],
        })

    def _event(self, t: tuple[Any, ...]) -> None:
        _, name, resource, related, payload, flow_run_id, task_run_id, ts = t
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


def _new_run(
    run_id: str, name: str, parameters: str, tags: tuple[str, ...], created: float
) -> Row:
    return {
        "id": run_id, "name": name[:255], "parameters": parameters,
        "tags": _dumps(list(tags)) if tags else "[]", "created": created,
        "state_type": None, "state_name": None, "state_message": None, "state_timestamp": None,
        "start_time": None, "end_time": None, "run_count": 0, "result": None,
    }
