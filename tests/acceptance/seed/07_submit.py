from prefect import flow, task
from prefect.futures import wait

@task(name="测试并发")
def conccurrent_task(i: int):
    print(f"第{i}个任务1")
    print(f"第{i}个任务2")
          
@flow(name="并发测试任务流", log_prints=True)
def conccurrent_flow():
    tmp = []
    for i in range(10):
        tmp.append(conccurrent_task.submit(i))

    wait(tmp)

conccurrent_flow()
