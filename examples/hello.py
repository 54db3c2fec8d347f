"""The smallest headwater program: one flow, two tasks, printed lines logged."""

from headwater import flow, task


@task
def greet(name: str) -> str:
    return f"Hello, {name}!"


@task
def shout(text: str) -> str:
    return text.upper()


@flow(log_prints=True)
def hello(name: str = "world") -> str:
    message = shout(greet(name))
    print(message)
    return message


if __name__ == "__main__":
    hello()
