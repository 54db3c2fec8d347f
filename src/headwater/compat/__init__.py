"""Run Prefect code unchanged: `prefect` and `prefect_dask` imports served by headwater.

From a shell:   python -m headwater.compat script.py [args...]
From code:      import headwater.compat; headwater.compat.install()
"""

from headwater.compat._finder import install, uninstall
from headwater.errors import UnsupportedPrefectFeature

__all__ = ["UnsupportedPrefectFeature", "install", "uninstall"]
