"""ekka-agent: the cluster agent of ekka.cluster."""
from __future__ import annotations

# The one place the version is written: pyproject.toml reads it from here (dynamic = ["version"]).
# Not looked up with importlib.metadata: that pulls email, zipfile and friends (about 3 MiB) into
# every agent for one string (issue 12).
__version__ = "0.2.0"
