# behaviour: a bad key in asset_deps or materialize raises a ValidationError at decoration
import pydantic
from prefect import task
from prefect.assets import materialize

try:

    @task(asset_deps=["not a uri"])
    def t():
        pass

except pydantic.ValidationError as exc:
    print("asset_deps", type(exc).__name__, exc.error_count())
try:

    @materialize("no-scheme")
    def m():
        pass

except pydantic.ValidationError as exc:
    print("materialize", type(exc).__name__, exc.error_count())
