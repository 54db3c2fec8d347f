# behaviour: Task.asset_deps holds Asset objects with .key
from prefect import task


@task(asset_deps=["s3://bucket/raw"])
def t():
    pass


print([type(a).__name__ for a in t.asset_deps], [a.key for a in t.asset_deps])
