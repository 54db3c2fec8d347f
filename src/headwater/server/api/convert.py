"""Store views to API models, and the API's own input parsing (cursors, state lists)."""

from __future__ import annotations

import logging
import math
from uuid import UUID

from headwater.server.api.models import (
    AssetOut,
    FlowRunDetailOut,
    FlowRunOut,
    LogOut,
    MaterializationOut,
    StateOut,
    TaskRunDetailOut,
    TaskRunOut,
)
from headwater.server.errors import BadRequestError
from headwater.store.base import (
    AssetMaterializationView,
    AssetView,
    FlowRunView,
    LogView,
    StateView,
    TaskRunView,
)
from headwater.store.pages import check_state_types


def _id(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def flow_run_out(run: FlowRunView, subflows: int = 0) -> FlowRunOut:
    return FlowRunOut(
        id=str(run.id), name=run.name, flow_name=run.flow_name, state_type=run.state_type,
        state_name=run.state_name, state_message=run.state_message, created=run.created,
        start_time=run.start_time, end_time=run.end_time, duration=run.duration,
        run_count=run.run_count, tags=list(run.tags),
        parent_flow_run_id=_id(run.parent_flow_run_id),
        parent_task_run_id=_id(run.parent_task_run_id), subflows=subflows,
    )


def flow_run_detail_out(run: FlowRunView, cancel_requested: bool, change_token: str
                        ) -> FlowRunDetailOut:
    return FlowRunDetailOut(
        **flow_run_out(run).model_dump(), parameters=run.parameters, result=run.result,
        flow_version=run.flow_version, heartbeat=run.heartbeat,
        cancel_requested=cancel_requested, change_token=change_token,
    )


def task_run_out(run: TaskRunView) -> TaskRunOut:
    return TaskRunOut(
        id=str(run.id), name=run.name, task_name=run.task_name, task_key=run.task_key,
        flow_run_id=_id(run.flow_run_id), state_type=run.state_type, state_name=run.state_name,
        state_message=run.state_message, created=run.created, start_time=run.start_time,
        end_time=run.end_time, duration=run.duration, run_count=run.run_count,
        tags=list(run.tags),
    )


def task_run_detail_out(run: TaskRunView) -> TaskRunDetailOut:
    return TaskRunDetailOut(**task_run_out(run).model_dump(), parameters=run.parameters,
                            result=run.result, cache_key=None)


def state_out(state: StateView) -> StateOut:
    return StateOut(id=state.id, type=state.type, name=state.name, message=state.message,
                    timestamp=state.timestamp, run_count=state.run_count, data=state.data)


def log_out(line: LogView, task_names: dict[UUID, str]) -> LogOut:
    return LogOut(
        id=line.id, flow_run_id=_id(line.flow_run_id), task_run_id=_id(line.task_run_id),
        task_run_name=task_names.get(line.task_run_id) if line.task_run_id else None,
        logger=line.logger, level=line.level, level_name=logging.getLevelName(line.level),
        message=line.message, timestamp=line.timestamp,
    )


def asset_out(asset: AssetView) -> AssetOut:
    return AssetOut(key=asset.key, properties=asset.properties,
                    latest_status=asset.latest_status, latest_time=asset.latest_time,
                    materializations=asset.materializations, last_seen=asset.last_seen)


def materialization_out(item: AssetMaterializationView) -> MaterializationOut:
    return MaterializationOut(
        key=item.key, status=item.status, timestamp=item.timestamp, metadata=item.metadata,
        materialized_by=item.materialized_by, flow_run_id=_id(item.flow_run_id),
        task_run_id=_id(item.task_run_id), upstream=list(item.upstream),
    )


# -- input --------------------------------------------------------------------------------------
def make_cursor(value: float, run_id: UUID) -> str:
    """A page cursor: the sort key and id of the last item shown."""
    return f"{value!r}_{run_id}"


def parse_cursor(text: str | None) -> tuple[float, str] | None:
    """A cursor made by `make_cursor` (None for none).

    Raises:
        BadRequestError: the text is not such a cursor.
    """
    if text is None or text == "":
        return None
    value, sep, run_id = text.partition("_")
    try:
        number = float(value)
        UUID(run_id)
    except ValueError:
        number = math.nan
    if not sep or not math.isfinite(number):
        raise BadRequestError(
            f"cursor={text!r} is not a page cursor. Pass the `next_cursor` of the previous "
            f"page unchanged, or leave it out for the first page."
        )
    return number, run_id.lower()


def parse_states(values: list[str] | None) -> tuple[str, ...]:
    """`state` query values (repeatable, or comma-separated) as upper-case state types.

    Raises:
        BadRequestError: one is not a state type; the message lists them.
    """
    items = tuple(part for value in values or [] for part in value.split(",") if part.strip())
    try:
        return check_state_types(items)
    except ValueError as exc:
        raise BadRequestError(f"state: {exc}") from exc


def parse_uuid(text: str, what: str = "flow run") -> UUID:
    """A full run id.

    Raises:
        BadRequestError: it is not a UUID.
    """
    try:
        return UUID(text.strip())
    except ValueError:
        raise BadRequestError(
            f"{text!r} is not a {what} id. Give the full id, as the API returns it "
            f"(e.g. '0193f2a4-...')."
        ) from None
