# behaviour: Flow.parameters has properties and required
# behaviour: Flow.parameters.model_dump() gives a JSON-schema-like dict
from prefect import flow


@flow
def f(x: int, name: str = "a", *args, flag: bool = False):
    pass


schema = f.parameters
print(sorted(schema.properties), schema.required)
dumped = schema.model_dump()
print(sorted(dumped))
props = dumped["properties"]
print(dumped["type"], props["x"].get("type"), props["name"].get("default"))
