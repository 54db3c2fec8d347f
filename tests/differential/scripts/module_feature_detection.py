# behaviour: hasattr on a name prefect lacks returns False
# behaviour: getattr with a default on a missing name returns the default
# behaviour: from prefect import missing raises ImportError
import prefect

print(hasattr(prefect, "quote"), hasattr(prefect, "flow"))
print(getattr(prefect, "definitely_not_there", None))
try:
    from prefect import definitely_not_there  # noqa: F401
except ImportError:
    print("ImportError")
