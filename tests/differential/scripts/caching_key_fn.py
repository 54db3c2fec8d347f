# behaviour: cache_key_fn caches by the key it returns
# env: PREFECT_HOME={tmp}/home
# env: HEADWATER_HOME={tmp}/home
from prefect import flow, task

calls = []


def by_first_letter(context, parameters):
    return "letter-" + parameters["word"][0]


@task(cache_key_fn=by_first_letter)
def t(word):
    calls.append(word)
    return word.upper()


@flow
def f():
    return t("apple"), t("avocado"), t("banana")


print(f(), calls)
