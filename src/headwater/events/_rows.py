"""Records to store rows: what the store sink's writer thread does with each batch.

Runs here, never on the hot path. Parameters, results and payloads are encoded as JSON where
they can be, and as a readable placeholder where they cannot (a future, an open file, an object
whose `repr` raises): storing history never fails because of a user's value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any
from uuid import UUID

from headwater.events.records import (
    DependencyAdded,
    Event,
    FlowRunCreated,
    LogEmitted,
    RunRenamed,
    StateChanged,
    TaskRunCreated,
)
from headwater.store.assets import EVENT_KINDS, asset_rows
from headwater.store.base import Batch, Row

_quote = json.encoder.encode_basestring  # a str as a JSON string literal (C speed)
_dumps = json.JSONEncoder(ensure_ascii=False).encode  # for values known to be JSON-safe
MAX_TEXT = 64 * 1024  # longest JSON text stored for one value; longer ones are cut, and say so
_FINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
# State names that need no JSON escaping: the history line is then formatted directly.
_PLAIN_NAMES = frozenset(
    {"Pending", "Running", "Completed", "Failed", "Crashed", "Cancelled", "Scheduled",
     "Paused", "Cancelling", "Retrying", "Cached", "AwaitingRetry", "NotReady", "Late",
     "TimedOut", "Suspended"}
)


def placeholder(value: Any) -> str:
    """A readable stand-in for a value JSON cannot hold."""
    run_id = getattr(value, "task_run_id", None)
    kind = type(value).__name__
    if run_id is not None and "Future" in kind:
        return f"<{kind} of task run {run_id}>"
    try:
        text = repr(value)
    except Exception:
        return f"<unrepresentable {kind}>"
    return text if len(text) <= 200 else text[:197] + "..."


def _default(value: Any) -> Any:
    if isinstance(value, (UUID, PurePath)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    return placeholder(value)


_encode = json.JSONEncoder(default=_default, ensure_ascii=False).encode


def encode_json(value: Any) -> str:
    """`value` as JSON text; never raises. Unserializable parts become placeholders."""
    kind = type(value)
    if kind is int:  # the commonest results, cheaply
        return str(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is str and len(value) < MAX_TEXT:
        return _quote(value)
    try:
        text = _encode(value)
    except Exception:  # e.g. non-string dict keys, cycles, a __repr__ that raises
        text = json.dumps(placeholder(value), ensure_ascii=False)
    if len(text) > MAX_TEXT:
        text = json.dumps(f"<{len(text):,} characters of JSON, cut> {text[:1000]}")
    return text


def _id(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _cut(value: str | None, limit: int = 255) -> str | None:
    return None if value is None else str(value)[:limit]


def _time(value: float) -> float:
    return value if math.isfinite(value) else 0.0


class BatchBuilder:
    """Folds records into one `Batch`: new runs carry their latest state, other runs get one
    update each, and history rows keep their order.

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
        self.logs: list[Row] = []
        self.dependencies: list[Row] = []
        self.events: list[Row] = []
        self.asset_events: list[Row] = []
        self.asset_edges: list[Row] = []
        self.count = 0
        self._ids: dict[int, str] = {}
        self._handlers: dict[type, Any] = {
            StateChanged: self._state, LogEmitted: self._log, TaskRunCreated: self._task_run,
            FlowRunCreated: self._flow_run, DependencyAdded: self._dependency,
            RunRenamed: self._renamed, Event: self._event,
        }

    def add_all(self, records: Iterable[Any]) -> None:
        handlers = self._handlers
        count = 0
        for record in records:
            handler = handlers.get(record.__class__)
            if handler is not None:
                handler(record)
                count += 1
        self.count += count

    def add(self, record: Any) -> None:
        """Fold in one record; unknown objects are ignored."""
        handler = self._handlers.get(type(record))
        if handler is not None:
            handler(record)
            self.count += 1

    def build(self, *, heartbeats: tuple[str, ...] = (), now: float = 0.0) -> Batch:
        return Batch(
            flow_runs=self.flow_runs, task_runs=self.task_runs,
            run_updates=list(self.updates.values()), logs=self.logs,
            dependencies=self.dependencies, events=self.events, asset_events=self.asset_events,
            asset_edges=self.asset_edges, heartbeats=heartbeats, now=now,
        )

    # -- one handler per record type ---------------------------------------------------------
    def _flow_run(self, r: FlowRunCreated) -> None:
        row = _new_run(self._id(r.flow_run_id), r.name, r.parameters, r.tags, r.timestamp)
        row.update(
            flow_name=r.flow_name[:255], flow_version=_cut(r.flow_version),
            parent_flow_run_id=_id(r.parent_flow_run_id),
            parent_task_run_id=_id(r.parent_task_run_id), heartbeat=None,
        )
        self.new_runs[row["id"]] = row
        self.flow_runs.append(row)

    def _task_run(self, r: TaskRunCreated) -> None:
        # The hottest record with StateChanged: one dict literal, no helper calls.
        run_id = self._id(r.task_run_id)
        parameters, tags, created = r.parameters, r.tags, r.timestamp
        row = {
            "id": run_id, "name": r.name[:255],
            "parameters": encode_json(parameters) if parameters else "{}",
            "tags": encode_json(sorted(tags)) if tags else "[]",
            "created": created if created - created == 0 else 0.0,
            "state_type": None, "state_name": None, "state_message": None,
            "state_timestamp": None, "start_time": None, "end_time": None, "run_count": 0,
            "result": None, "history": "", "task_name": r.task_name[:255],
            "task_key": r.task_key[:255],
            "flow_run_id": None if r.flow_run_id is None else self._id(r.flow_run_id),
        }
        self.new_runs[run_id] = row
        self.task_runs.append(row)

    def _state(self, r: StateChanged) -> None:
        state = r.state
        run_id = self._id(r.run_id)
        kind = state.type._value_
        final = kind in _FINAL
        data = encode_json(state.data) if final and state.has_data else None
        ts = state.timestamp_s
        if ts - ts != 0:  # NaN or infinite: not JSON
            ts = 0.0
        name = state.name[:64]
        message = state.message
        run_count = r.run_count
        if message is None and name in _PLAIN_NAMES:  # the common case, formatted directly
            quoted = "null" if data is None else _quote(data)
            line = f'["{kind}","{name}",null,{ts!r},{run_count},{quoted}]\n'
        else:
            line = _dumps([kind, name, message, ts, run_count, data]) + "\n"
        if r.kind == "flow":
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
            row["history"] += line
            if kind == "RUNNING":
                if row["start_time"] is None:
                    row["start_time"] = ts
            elif final:
                row["end_time"] = ts
                row["result"] = data
            return
        change: Row = {
            "state_type": kind, "state_name": name, "state_message": message,
            "state_timestamp": ts, "run_count": run_count, "history": line,
        }
        if kind == "RUNNING":
            change["start_time"] = ts
        if final:
            change["end_time"] = ts
            change["result"] = data
        self._change(r.kind, run_id, change)

    def _id(self, value: UUID) -> str:
        key = value.int  # hashing the int is C; UUID.__hash__ is Python
        text = self._ids.get(key)
        if text is None:
            text = self._ids[key] = str(value)
        return text

    def _renamed(self, r: RunRenamed) -> None:
        self._change(r.kind, self._id(r.run_id), {"name": r.name[:255]})

    def _change(self, kind: str, run_id: str, change: Row) -> None:
        row = self.new_runs.get(run_id)
        if row is None:
            row = self.updates.get((kind, run_id))
            if row is None:
                self.updates[(kind, run_id)] = {"id": run_id, "kind": kind, **change}
                return
        if "start_time" in change and row.get("start_time") is not None:
            del change["start_time"]
        if "history" in change:
            change["history"] = row.get("history", "") + change["history"]
        row.update(change)

    def _log(self, r: LogEmitted) -> None:
        flow_run_id, task_run_id, ts = r.flow_run_id, r.task_run_id, r.timestamp
        self.logs.append({
            "flow_run_id": None if flow_run_id is None else self._id(flow_run_id),
            "task_run_id": None if task_run_id is None else self._id(task_run_id),
            "logger": r.logger[:255], "level": r.level, "message": str(r.message),
            "timestamp": ts if ts - ts == 0 else 0.0,
        })

    def _dependency(self, r: DependencyAdded) -> None:
        self.dependencies.append({
            "task_run_id": str(r.task_run_id), "upstream_run_id": str(r.upstream_run_id),
            "parameter": _cut(r.parameter),
        })

    def _event(self, r: Event) -> None:
        payload = encode_json(r.payload)
        flow_run_id, task_run_id = _id(r.flow_run_id), _id(r.task_run_id)
        timestamp = _time(r.timestamp)
        self.events.append({
            "name": r.name[:255], "resource": encode_json(r.resource),
            "related": encode_json(list(r.related)), "payload": payload,
            "flow_run_id": flow_run_id, "task_run_id": task_run_id, "timestamp": timestamp,
        })
        if r.name in EVENT_KINDS:  # also kept by asset key, for asset history and lineage
            asset, edges = asset_rows(
                r.name, r.resource, r.related, payload, flow_run_id, task_run_id, timestamp,
            )
            if asset is not None:
                self.asset_events.append(asset)
                self.asset_edges.extend(edges)


def _new_run(
    run_id: str, name: str, parameters: dict[str, Any], tags: frozenset[str], created: float
) -> Row:
    return {
        "id": run_id, "name": name[:255],
        "parameters": encode_json(parameters) if parameters else "{}",
        "tags": encode_json(sorted(tags)) if tags else "[]", "created": _time(created),
        "state_type": None, "state_name": None, "state_message": None, "state_timestamp": None,
        "start_time": None, "end_time": None, "run_count": 0, "result": None, "history": "",
    }
