# behaviour: submit outside a flow raises RuntimeError
# behaviour: map outside a flow raises RuntimeError
from prefect import task


@task
def t(x):
    return x


for call in (lambda: t.submit(1), lambda: t.map([1, 2])):
    try:
        call()
    except RuntimeError as exc:
        print("RuntimeError", isinstance(exc, RuntimeError))
