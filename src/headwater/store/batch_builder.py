"""Decoded records to store rows, per table: what a writer (a thread, or the writer process)
does per batch.

Runs in the writer, never on the hot path. Its input is wire tuples: plain values, the first
of each naming the record's kind, laid out as the events layer's codec says (`layouts`, given
by name: this module never imports the events layer, and the events layer never learns the
store's columns). `READS` (`wire_reader.py`) says which values each handler reads, by name.

`BatchBuilder.build()` gives a `Batch`. Its task run and state rows, most of what it holds,
come as one flat list of values per table, row after row in the table's column order
(`TASK_RUNS.columns`, `STATES.columns`), not dicts: a dict of 17 keys made, then read back key
by key for the driver, was a good part of the writer's work per task run, and a flat list is
bound a slice per statement. A task run's values are a list of their own until `build()`
(its states are folded into it by place), a state's and a log line's go straight into the flat
list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from headwater.store.assets import EVENT_KINDS, asset_rows
from headwater.store.batch import FINAL_STATE_TYPES, Batch, Row
from headwater.store.tables import LOGS, STATES, TASK_RUNS
from headwater.store.wire_reader import READS, Layouts, WireReader

__all__ = ["READS", "BatchBuilder", "Layouts", "WireReader"]

_dumps = json.JSONEncoder(ensure_ascii=False).encode  # for values known to be JSON-safe
_FINAL = frozenset(FINAL_STATE_TYPES)

# A task run row's values by column (`TASK_RUNS.columns`); the hot handlers use the numbers
# as literals, which the check below keeps honest.
_TASK_INDEX = {column: i for i, column in enumerate(TASK_RUNS.columns)}
_STATE_COLUMNS = ("run_id", "kind", "type", "name", "message", "timestamp", "run_count", "data",
                  "seq")
if (TASK_RUNS.columns[:13] != ("id", "name", "parameters", "tags", "created", "state_type",
                               "state_name", "state_message", "state_timestamp", "start_time",
                               "end_time", "run_count", "result")
        or TASK_RUNS.columns[13:] != ("task_name", "task_key", "flow_run_id", "identity")
        or STATES.columns != _STATE_COLUMNS
        or LOGS.columns != ("flow_run_id", "task_run_id", "logger", "level", "message",
                            "timestamp")):  # pragma: no cover (a change to tables.py)
    raise ImportError("the batch builder's row layouts no longer match tables.py")
_COLUMNS = {"task_runs": TASK_RUNS.columns, "states": STATES.columns, "logs": LOGS.columns}

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
        self.new_runs: dict[str, Row] = {}  # flow runs created in this batch
        # task runs created in this batch: their values, in `TASK_RUNS.columns` order
        self.new_tasks: dict[str, list[Any]] = {}
        self.flow_runs: list[Row] = []
        self.task_runs: list[list[Any]] = []
        self.updates: dict[tuple[str, str], Row] = {}
        self.states: list[Any] = []  # flat: 9 values a row, in `STATES.columns` order
        self.logs: list[Any] = []  # flat: 6 values a row, in `LOGS.columns` order
        self.dependencies: list[Row] = []
        self.events: list[Row] = []
        self.asset_events: list[Row] = []
        self.asset_edges: list[Row] = []
        self.count = 0
        self._ids: dict[int, str] = {}
        self._seen: set[tuple[Any, ...]] = set()  # every state's key (run, time, type, count)
        self._repeats: dict[tuple[Any, ...], int] = {}  # the last seq of a repeated key

    def add_wire(self, items: Iterable[tuple[Any, ...]]) -> None:
        """Fold in wire tuples; kinds no handler reads are skipped."""
        # Bound methods made per call, never kept on the builder: kept, they would make it a
        # reference cycle, freed (with every row of its batch) only by the cyclic garbage
        # collector, which in a writer process runs too rarely: its memory grew flow by flow.
        handlers = {kind: getattr(self, name) if get is None else _reading(getattr(self, name), get)
                    for kind, (name, get) in self.reader.getters.items()}
        count = 0
        for item in items:
            handle = handlers.get(item[0])
            if handle is not None:
                handle(item)
                count += 1
        self.count += count

    def build(
        self, *, heartbeats: tuple[str, ...] = (), now: float = 0.0, replay: bool = False
    ) -> Batch:
        """The batch; `replay` when its records may have been stored already."""
        return Batch(
            flow_runs=self.flow_runs,
            task_runs=list(chain.from_iterable(self.task_runs)),
            run_updates=list(self.updates.values()), states=self.states, logs=self.logs,
            dependencies=self.dependencies, events=self.events, asset_events=self.asset_events,
            asset_edges=self.asset_edges, heartbeats=heartbeats, now=now, replay=replay,
            columns=_COLUMNS,
        )

    def _id(self, value: int) -> str:
        text = self._ids.get(value)
        if text is None:
            h = "%032x" % value  # noqa: UP031 (cheaper than format() here, by a fifth)
            text = self._ids[value] = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        return text

    # -- one handler per record type ---------------------------------------------------------
    def _flow_run(self, v: tuple[Any, ...]) -> None:
        (_, run_id, name, flow_name, version, parameters, tags, parent_flow, parent_task, ts,
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
        # The hottest kind with states: its values, in `TASK_RUNS.columns` order.
        _, run_id, name, task_name, task_key, flow_run_id, parameters, tags, ts, call = v
        ids = self._ids
        run_id = ids.get(run_id) or self._id(run_id)
        if call is not None:  # its place among the calls of its task: "key#n" or "key#n.i"
            call = f"{task_key}#{call}"
            if len(call) > 300:
                call = call[:300]
        # Texts are cut to their columns' sizes only when longer: a slice costs more than
        # a look at the length, and they hardly ever are.
        row = [
            run_id, name if len(name) <= 255 else name[:255], parameters,
            _dumps(list(tags)) if tags else "[]", ts,
            None, None, None, None, None, None, 0, None,  # state_type ... result
            task_name if len(task_name) <= 255 else task_name[:255],
            task_key if len(task_key) <= 255 else task_key[:255],
            None if flow_run_id is None else ids.get(flow_run_id) or self._id(flow_run_id),
            call,  # identity
        ]
        self.new_tasks[run_id] = row
        self.task_runs.append(row)

    def _state(self, v: tuple[Any, ...]) -> None:
        _, run_id, kind, type, name, message, ts, data, run_count = v
        run_id = self._ids.get(run_id) or self._id(run_id)
        if len(name) > 64:
            name = name[:64]
        # The same transition twice in a batch is told apart by its seq, almost always 0:
        # a set says whether the key is new with one hash of it (a dict's get, then set,
        # would take two), and only repeated keys are counted.
        key = (run_id, ts, type, run_count)
        seen = self._seen
        known = len(seen)
        seen.add(key)
        if len(seen) == known:
            seq = self._repeats[key] = self._repeats.get(key, 0) + 1
        else:
            seq = 0
        self.states += (run_id, kind, type, name, message, ts, run_count, data, seq)
        final = type in _FINAL
        if kind == "flow":
            if final:
                self.running_flows.discard(run_id)
            elif type == "RUNNING":
                self.running_flows.add(run_id)
        task = self.new_tasks.get(run_id)
        if task is not None:  # created in this batch (most task runs): fold in place
            task[5] = type  # state_type
            task[6] = name  # state_name
            task[7] = message  # state_message
            task[8] = ts  # state_timestamp
            task[11] = run_count
            if type == "RUNNING":
                if task[9] is None:  # start_time
                    task[9] = ts
            elif final:
                task[10] = ts  # end_time
                task[12] = data  # result
            return
        row = self.new_runs.get(run_id)
        if row is not None:  # a flow run created in this batch
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
        _, run_id, kind, name = v
        self._change(kind, self._id(run_id), {"name": name[:255]})

    def _change(self, kind: str, run_id: str, change: Row) -> None:
        task = self.new_tasks.get(run_id)
        if task is not None:
            for column, value in change.items():
                if column != "start_time" or task[9] is None:
                    task[_TASK_INDEX[column]] = value
            return
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
        _, flow_run_id, task_run_id, logger, level, message, ts = v
        ids = self._ids
        self.logs += (
            None if flow_run_id is None else ids.get(flow_run_id) or self._id(flow_run_id),
            None if task_run_id is None else ids.get(task_run_id) or self._id(task_run_id),
            logger if len(logger) <= 255 else logger[:255], level, message, ts,
        )

    def _dependency(self, v: tuple[Any, ...]) -> None:
        _, task_run_id, upstream_run_id, parameter = v
        self.dependencies.append({
            "task_run_id": self._id(task_run_id), "upstream_run_id": self._id(upstream_run_id),
            "parameter": None if parameter is None else parameter[:255],
        })

    def _event(self, v: tuple[Any, ...]) -> None:
        _, name, resource, related, payload, flow_run_id, task_run_id, ts = v
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


def _reading(handle: Callable[[tuple[Any, ...]], None],
             get: Callable[[tuple[Any, ...]], tuple[Any, ...]]
             ) -> Callable[[tuple[Any, ...]], None]:
    """`handle` of the values `get` picks from a wire tuple."""
    return lambda item: handle(get(item))


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
