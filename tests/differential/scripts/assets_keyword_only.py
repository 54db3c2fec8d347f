# behaviour: Asset takes keyword arguments only
# behaviour: a bad asset key raises a pydantic ValidationError
import pydantic
from prefect.assets import Asset

try:
    Asset("s3://bucket/x")
except TypeError:
    print("TypeError")
print(Asset(key="s3://bucket/x").key)
try:
    Asset(key="no scheme here")
except pydantic.ValidationError:
    print("ValidationError")
try:
    Asset(key="S3://bucket/x")
except ValueError as exc:
    print(type(exc).__name__)
