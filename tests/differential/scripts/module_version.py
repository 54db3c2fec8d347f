# behaviour: prefect.__version__ is a PEP 440 version of Prefect 3.9.1 (a local label may follow)
#   and __version_info__ carries the same version; version checks see 3.9.1
import prefect
from packaging.version import Version

version = Version(prefect.__version__)
print(version.public, version.release, version >= Version("3.9.1"), version < Version("3.10"))
info = prefect.__version_info__
print(prefect.__version__.startswith("3."), info["version"] == prefect.__version__)
