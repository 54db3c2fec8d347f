# behaviour: a flow name with a banned character raises InvalidNameError
from prefect import flow
from prefect.exceptions import InvalidNameError

try:

    @flow(name="a/b")
    def f():
        pass

except InvalidNameError as exc:
    print("InvalidNameError", "'/'" in str(exc))
