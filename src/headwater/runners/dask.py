"""`DaskTaskRunner`: task runs on a `dask.distributed` cluster (the `dask` extra).

By default each flow run gets its own `LocalCluster`, closed when the flow ends; pass
`address=` to use a running scheduler, or `cluster_class` / `cluster_kwargs` to start another
kind of cluster. The options match prefect-dask's.

Each task run executes on a worker with the same engine as everywhere else; its states and
log records come back with the result and go to the flow's event sink.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from headwater.core.futures import TaskRunFuture
from headwater.core.logs import ENGINE_LOGGER
from headwater.core.options import OptionError
from headwater.runners import _remote
from headwater.runners.base import TaskRunner

if TYPE_CHECKING:
    from headwater.core.tasks import Task

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
        link = getattr(self._client, "dashboard_link", None)
        if link:
            log.info("The Dask dashboard is available at %s", link)

    def _shutdown(self, cancel: bool) -> None:
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
        # The Dask key carries the task's name, so the dashboard shows what runs.
        return _remote.submit_remote(
            self, task, parameters, wait_for,
            lambda task, run, payload: client.submit(
                _remote.execute, payload, key=f"{task.name}-{run.id.hex}", pure=False
            ),
        )
