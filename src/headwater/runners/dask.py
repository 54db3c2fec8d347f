"""`DaskTaskRunner`: task runs on a `dask.distributed` cluster (the `dask` extra).

By default each flow run gets its own `LocalCluster`, closed when the flow ends; pass
`address=` to use a running scheduler, or `cluster_class` / `cluster_kwargs` to start another
kind of cluster. The options match prefect-dask's.

Each task run executes on a worker with the same engine as everywhere else; its states and
log records come back with the result and go to the flow's event sink.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import queue
import threading
from typing import TYPE_CHECKING, Any

from headwater.core.context import flow_run_var
from headwater.core.futures import TaskRunFuture, TaskRunFutureList
from headwater.core.logs import ENGINE_LOGGER
from headwater.core.options import OptionError
from headwater.core.states import State
from headwater.core.task_engine import new_task_run
from headwater.errors import SerializationError
from headwater.events import current_sink
from headwater.runners import _remote
from headwater.runners.base import TaskRunner, upstream_futures

if TYPE_CHECKING:
    from headwater.core.runs import TaskRun
    from headwater.core.tasks import Task
    from headwater.events.base import EventSink

_INSTALL_HINT = "DaskTaskRunner needs dask.distributed: pip install 'headwater[dask]'"


def _import_distributed() -> Any:
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc


def _resolve_class(value: Any) -> Any:
    if isinstance(value, str):
        module, _, name = value.rpartition(".")
        if not module:
            raise OptionError(
                f"DaskTaskRunner(cluster_class={value!r}): give a dotted path such as "
                "'dask.distributed.LocalCluster', or the class itself.",
                option="cluster_class",
                value=value,
            )
        return getattr(importlib.import_module(module), name)
    return value


class DaskTaskRunner(TaskRunner):
    """Runs submitted tasks on a Dask cluster.

    Args:
        cluster: an existing cluster object to use (it is not closed afterwards).
        address: the address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
        cluster_class: the cluster to start when neither is given (a class or a dotted path;
            default `distributed.LocalCluster`).
        cluster_kwargs: keyword arguments for `cluster_class`.
        adapt_kwargs: if given, `cluster.adapt(**adapt_kwargs)` is called (adaptive scaling).
        client_kwargs: keyword arguments for `distributed.Client`.
    """

    def __init__(
        self,
        cluster: Any = None,
        address: str | None = None,
        cluster_class: Any = None,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if address is not None and (cluster or cluster_class or cluster_kwargs or adapt_kwargs):
            raise OptionError(
                "Cannot specify `address` and `cluster`/`cluster_class`/`cluster_kwargs`/"
                "`adapt_kwargs`: with an address, the scheduler you point to owns its cluster.",
                option="address",
                value=address,
            )
        if cluster is not None and (cluster_class or cluster_kwargs):
            raise OptionError(
                "Cannot specify `cluster` and `cluster_class`/`cluster_kwargs`: pass either a "
                "running cluster or the recipe for a new one.",
                option="cluster",
                value=cluster,
            )
        for label, kwargs in (("client_kwargs", client_kwargs), ("cluster_kwargs", cluster_kwargs)):
            if kwargs and "asynchronous" in kwargs:
                raise OptionError(
                    f"`{label}` cannot set `asynchronous`: headwater manages it.",
                    option=label,
                    value=kwargs,
                )
        self._cluster = cluster
        self.address = address
        self.cluster_class = _resolve_class(cluster_class)
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.adapt_kwargs = dict(adapt_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self.client_kwargs.setdefault("set_as_default", False)
        self._client: Any = None
        self._results: _Results | None = None
        self._owned_cluster: Any = None

    def duplicate(self) -> DaskTaskRunner:
        """Same settings; a live `cluster` object is not shared between flow runs."""
        return type(self)(
            address=self.address,
            cluster_class=self.cluster_class,
            cluster_kwargs=self.cluster_kwargs or None,
            adapt_kwargs=self.adapt_kwargs or None,
            client_kwargs=self.client_kwargs,
        ) if self._cluster is None else type(self)(
            cluster=self._cluster, adapt_kwargs=self.adapt_kwargs or None,
            client_kwargs=self.client_kwargs,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        fields = ("address", "cluster_class", "cluster_kwargs", "adapt_kwargs", "client_kwargs")
        return all(getattr(self, f) == getattr(other, f) for f in fields)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = self.address or (self.cluster_class or "LocalCluster")
        return f"DaskTaskRunner({where!r})"

    @property
    def client(self) -> Any:
        """The `distributed.Client` of this run (after the runner started)."""
        self._check_started()
        return self._client

    def _start(self) -> None:
        import logging

        distributed = _import_distributed()
        log = logging.getLogger(ENGINE_LOGGER)
        if self.address is not None:
            log.info("Connecting to an existing Dask cluster at %s", self.address)
            self._client = distributed.Client(self.address, **self.client_kwargs)
            self._results = _Results(self._client)
            return
        cluster = self._cluster
        if cluster is None:
            cluster_class = self.cluster_class or distributed.LocalCluster
            log.info("Creating a new Dask cluster with `%s.%s`", cluster_class.__module__,
                     cluster_class.__qualname__)
            cluster = cluster_class(**self.cluster_kwargs)
            self._owned_cluster = cluster
        else:
            log.info("Connecting to existing Dask cluster %s", cluster)
        if self.adapt_kwargs:
            cluster.adapt(**self.adapt_kwargs)
        self._client = distributed.Client(cluster, **self.client_kwargs)
        self._results = _Results(self._client)
        link = getattr(self._client, "dashboard_link", None)
        if link:
            log.info("The Dask dashboard is available at %s", link)

    def _shutdown(self, cancel: bool) -> None:
        results, self._results = self._results, None
        if results is not None:
            results.close()
        client, self._client = self._client, None
        cluster, self._owned_cluster = self._owned_cluster, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def submit(
        self, task: Task[..., Any], parameters: dict[str, Any], wait_for: Any = None
    ) -> TaskRunFuture[Any]:
        self._check_started()
        client = self._client
        assert self._results is not None
        # The Dask key carries the task's name, so the dashboard shows what runs.
        return _remote.submit_remote(
            self, task, parameters, wait_for,
            lambda task, run, payload: client.submit(
                _remote.execute, payload, key=_key(task, run), pure=False
            ),
            watch=self._results.watch,
        )

    def map(
        self, task: Task[..., Any], calls: list[dict[str, Any]], wait_for: Any = None
    ) -> TaskRunFutureList:
        """One `client.map` for the whole map when no argument waits on an upstream future
        (one scheduler update instead of one per run); otherwise run by run."""
        self._check_started()
        if wait_for or any(upstream_futures(call, None) for call in calls):
            return super().map(task, calls, wait_for)
        assert self._results is not None
        flow_ctx = flow_run_var.get()
        sink = flow_ctx.sink if flow_ctx is not None else current_sink()
        futures = TaskRunFutureList()
        shipped: list[tuple[bytes, str, cf.Future[State], TaskRun]] = []
        for params in calls:
            run = new_task_run(task, params, flow_ctx)
            done: cf.Future[State] = cf.Future()
            try:
                payload = _remote.pack(task, run, params, None, flow_ctx)
            except SerializationError as exc:
                done.set_result(_remote.record_unsendable(task, run, params, exc, sink))
            else:
                shipped.append((payload, _key(task, run), done, run))
            futures.append(TaskRunFuture(run, done))
        if shipped:
            remotes = self._client.map(
                _remote.execute, [s[0] for s in shipped], key=[s[1] for s in shipped],
                pure=False,
            )
            for remote, (_, _, done, run) in zip(remotes, shipped, strict=True):
                self._results.watch(remote, done, run, sink)
        return futures


def _key(task: Task[..., Any], run: TaskRun) -> str:
    return f"{task.name}-{run.id.hex}"


class _Results:
    """Fetches finished runs' results from the cluster in batches, in one thread.

    Fetching each result on its own costs a round trip per task run; gathering whatever has
    finished since the last fetch costs one per batch.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._queue: queue.SimpleQueue[tuple[Any, Any, TaskRun, EventSink] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._serve, name="headwater-dask-results",
                                        daemon=True)
        self._thread.start()

    def watch(self, remote: Any, done: Any, run: TaskRun, sink: EventSink) -> None:
        remote.add_done_callback(lambda finished: self._queue.put((finished, done, run, sink)))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < 1000:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._settle(batch)
            if stop:
                return

    def _settle(self, batch: list[tuple[Any, Any, TaskRun, EventSink]]) -> None:
        finished = [item for item in batch if item[0].status == "finished"]
        for remote, done, run, sink in batch:
            if remote.status != "finished":  # the worker or the cluster failed, not the task
                _remote.finish(remote, done, run, sink)
        if not finished:
            return
        try:
            payloads = self._client.gather([item[0] for item in finished])
        except BaseException:
            for remote, done, run, sink in finished:
                _remote.finish(remote, done, run, sink)
            return
        for (_, done, run, sink), payload in zip(finished, payloads, strict=True):
            try:
                done.set_result(_remote.unpack(payload, run, sink))
            except BaseException as exc:
                done.set_exception(exc)
