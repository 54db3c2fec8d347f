"""Seed example 4 (assets), written with headwater imports."""

from headwater import flow
from headwater.assets import materialize


@materialize("s3://my-bucket/processed-data.csv")
def process_data(data: dict) -> dict:
    # 这里进数据处理
    return


@flow(name="数据处理", flow_run_name="数据处理运行中")
def data_pipeline(data: dict):
    process_data(data)


if __name__ == "__main__":
    data_pipeline({"flowName": "数据处理"})
