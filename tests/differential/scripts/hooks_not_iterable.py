# behaviour: a hook that is not in a list raises TypeError at decoration
from prefect import flow


def hook(fl, run, state):
    pass


try:

    @flow(on_completion=hook)
    def f():
        pass

except TypeError:
    print("TypeError")
