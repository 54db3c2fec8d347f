"""What is particular to the PostgreSQL store: notifications on commit."""

from __future__ import annotations

import json
import time
from uuid import uuid4

from headwater.core.states import Running
from headwater.events._rows import BatchBuilder
from headwater.events.records import FlowRunCreated, StateChanged
from headwater.store.postgres import NOTIFY_CHANNEL
from tests.store.processes import opened


def test_each_committed_batch_notifies_listeners_of_the_flow_runs_it_changed(
    pg_url: str, pg_dsn: str
) -> None:
    import psycopg

    run_id = uuid4()
    builder = BatchBuilder(set())
    builder.add_all([
        FlowRunCreated(run_id, "a", "etl", None, {}, frozenset(), None, None, time.time()),
        StateChanged(run_id, "flow", Running(), 1),
    ])
    plain = pg_dsn.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as listener, opened(pg_url) as store:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        store.write_batch(builder.build(now=time.time()))
        # The channel is shared by every schema of the database: other writers' notices
        # (another test's store, say) may come first, so look for this batch's.
        ours = None
        for notice in listener.notifies(timeout=10):
            payload = json.loads(notice.payload)
            if str(run_id) in payload.get("flow_runs", []):
                ours = payload
                break

    assert ours == {"flow_runs": [str(run_id)], "task_runs": 0}
