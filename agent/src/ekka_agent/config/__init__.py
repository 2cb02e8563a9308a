"""Config: the schema table (schema.py), value checks (types.py) and the loader (load.py)."""
from .load import Config, ConfigError, load_config  # noqa: F401
