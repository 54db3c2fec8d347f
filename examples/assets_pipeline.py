"""Three steps, raw -> cleaned -> report; the middle one is a plain task.

headwater infers that the report was built from the raw data: lineage passes through the plain
task. Run it, then look at the history with `headwater assets ls`.
"""

from headwater import flow, task
from headwater.assets import add_asset_metadata, materialize


@materialize("file://data/raw.csv", by="python")
def extract() -> list[dict]:
    rows = [{"city": "Lyon", "temp": 14}, {"city": "Oslo", "temp": -3}]
    add_asset_metadata("file://data/raw.csv", {"rows": len(rows)})
    return rows


@task
def clean(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["temp"] > -50]


@materialize("file://data/report.csv", asset_deps=["postgres://warehouse/cities"])
def report(rows: list[dict]) -> str:
    return "\n".join(f"{row['city']},{row['temp']}" for row in rows)


@flow(log_prints=True)
def weather() -> str:
    text = report(clean(extract()))
    print(text)
    return text


if __name__ == "__main__":
    weather()
