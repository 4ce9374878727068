"""User directories (cache, config, data), overridable by environment for tests and CI."""

from __future__ import annotations

import os
from pathlib import Path

from runway_dynamic._constants import APP_DIR_NAME, ENV_CACHE_DIR, ENV_CONFIG_DIR, ENV_DATA_DIR


def cache_dir() -> Path:
    """Derived indexes and pulled specs live here."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_DIR_NAME, appauthor=False))


def config_dir() -> Path:
    """Configuration and credentials live here."""
    override = os.environ.get(ENV_CONFIG_DIR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False))


def data_dir() -> Path:
    """Local registries (soul-ids, registered workflows) live here."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))
