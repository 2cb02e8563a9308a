"""ekka-agent: the cluster agent of ekka.cluster."""
from __future__ import annotations

try:
    from importlib.metadata import PackageNotFoundError, version
    __version__ = version("ekka-agent")
except PackageNotFoundError:   # run from a source tree that was never installed
    __version__ = "0+unknown"
