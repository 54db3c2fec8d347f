# behaviour: server-side and block APIs import without error (used only on some paths)
from prefect import get_client  # noqa: F401
from prefect.artifacts import create_markdown_artifact  # noqa: F401
from prefect.blocks.core import Block  # noqa: F401
from prefect.blocks.system import Secret  # noqa: F401
from prefect.client.orchestration import get_client as get_client2  # noqa: F401
from prefect.concurrency.sync import concurrency  # noqa: F401
from prefect.deployments import run_deployment  # noqa: F401
from prefect.events import emit_event  # noqa: F401
from prefect.variables import Variable  # noqa: F401

print("imported")
