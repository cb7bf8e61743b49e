"""Configuration: pydantic models (one module per section) and the YAML loader."""

from camwatch.config.camera import CameraConfig
from camwatch.config.loader import ConfigError, config_path, load_config, masked_dump, parse_config
from camwatch.config.root import CamwatchConfig

__all__ = [
    "CameraConfig",
    "CamwatchConfig",
    "ConfigError",
    "config_path",
    "load_config",
    "masked_dump",
    "parse_config",
]
