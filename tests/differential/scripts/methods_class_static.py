# behaviour: classmethod and staticmethod flows work in both decorator orders
from prefect import flow


class C:
    base = 7

    @classmethod
    @flow
    def cm(cls, x):
        return cls.base + x

    @flow
    @staticmethod
    def sm(x):
        return x * 2


print(C.cm(1), C.sm(4))
