"""What every route gets: the store, and the query parameter types the routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from headwater.store.base import RunStore


def get_store(request: Request) -> RunStore:
    """The `RunStore` the app was made with."""
    store: RunStore = request.app.state.store
    return store


Store = Annotated[RunStore, Depends(get_store)]
# Seconds since the epoch; the bounds keep fuzzed values out of float trouble.
Time = Annotated[float | None, Query(ge=0, le=1e11, allow_inf_nan=False)]
States = Annotated[
    list[str] | None,
    Query(description="State types, repeated or comma-separated: running, completed, failed, "
                      "crashed, cancelled, pending, scheduled, paused, cancelling."),
]
