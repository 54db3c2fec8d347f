"""`DaskTaskRunner`: task runs on a `dask.distributed` cluster (the `dask` extra).

By default each flow run gets its own `LocalCluster`, closed when the flow ends; pass
`address=` to use a running scheduler, or `cluster_class` / `cluster_kwargs` to start another
kind of cluster. The options match prefect-dask's.

Each task run executes on a worker with the same engine as everywhere else: the runner ships
the request's bytes and the worker entry point; the run's states and log records come back with
its outcome, and the engine hands them to the flow's event sink.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import queue
import threading
from typing import TYPE_CHECKING, Any

from headwater.errors import OptionError
from headwater.runners.base import TaskRunner, failed_future

if TYPE_CHECKING:
    from headwater.engine.execution import TaskRunOutcome, TaskRunRequest

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
        log = logging.getLogger("headwater.engine")
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

    def submit(self, request: TaskRunRequest) -> cf.Future[TaskRunOutcome]:
        self._check_started()
        assert self._results is not None
        payload = request.to_bytes()
        # The Dask key carries the task's name, so the dashboard shows what runs.
        remote = self._client.submit(request.execute_bytes, payload, key=_key(request),
                                     pure=False)
        return self._results.watch(remote, request)

    def submit_many(self, requests: list[TaskRunRequest]) -> list[cf.Future[TaskRunOutcome]]:
        """One `client.map` for the whole `.map` (one scheduler update instead of one per run)."""
        self._check_started()
        assert self._results is not None
        futures: list[cf.Future[TaskRunOutcome] | None] = []
        shipped: list[tuple[int, bytes, TaskRunRequest]] = []
        for request in requests:
            try:
                shipped.append((len(futures), request.to_bytes(), request))
                futures.append(None)
            except Exception as exc:  # SerializationError: that request alone fails
                futures.append(failed_future(exc))
        if shipped:
            remotes = self._client.map(
                shipped[0][2].execute_bytes, [payload for _, payload, _ in shipped],
                key=[_key(request) for _, _, request in shipped], pure=False,
            )
            for remote, (index, _, request) in zip(remotes, shipped, strict=True):
                futures[index] = self._results.watch(remote, request)
        return futures  # type: ignore[return-value]


def _key(request: TaskRunRequest) -> str:
    return f"{request.task.name}-{request.task_run.id.hex}"


class _Results:
    """Fetches finished runs' outcomes from the cluster in batches, in one thread.

    Fetching each result on its own costs a round trip per task run; gathering whatever has
    finished since the last fetch costs one per batch.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._queue: queue.SimpleQueue[tuple[Any, cf.Future[Any], TaskRunRequest] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._serve, name="headwater-dask-results",
                                        daemon=True)
        self._thread.start()

    def watch(self, remote: Any, request: TaskRunRequest) -> cf.Future[TaskRunOutcome]:
        """A future of the outcome of `remote` (a Dask future of `execute_bytes`)."""
        done: cf.Future[TaskRunOutcome] = cf.Future()
        remote.add_done_callback(lambda finished: self._queue.put((finished, done, request)))
        return done

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

    def _settle(self, batch: list[tuple[Any, cf.Future[Any], TaskRunRequest]]) -> None:
        finished = [item for item in batch if item[0].status == "finished"]
        for remote, done, request in batch:
            if remote.status != "finished":  # the worker or the cluster failed, not the task
                _settle_one(remote, done, request)
        if not finished:
            return
        try:
            payloads = self._client.gather([item[0] for item in finished])
        except BaseException:
            for remote, done, request in finished:
                _settle_one(remote, done, request)
            return
        for (_, done, request), payload in zip(finished, payloads, strict=True):
            try:
                done.set_result(request.outcome_from_bytes(payload))
            except BaseException as exc:
                done.set_exception(exc)


def _settle_one(remote: Any, done: cf.Future[Any], request: TaskRunRequest) -> None:
    try:
        payload = remote.result()
    except BaseException as exc:  # the worker process or the cluster failed, not the task
        done.set_exception(exc)
        return
    try:
        done.set_result(request.outcome_from_bytes(payload))
    except BaseException as exc:
        done.set_exception(exc)
