"""Shared CLI plumbing: config loading, logging and turning errors into messages, not tracebacks."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Collection
from pathlib import Path

from camwatch.config import CamwatchConfig, ConfigError, load_config
from camwatch.datafiles import DataFileError
from camwatch.detectors.plugins.ssd import ModelError as DetectorModelError
from camwatch.detectors.runtime import EdgeTpuUnavailable, RuntimeUnavailable
from camwatch.logsetup import setup_logging
from camwatch.models import ModelError
from camwatch.paths import default_data_dir
from camwatch.sources.opencv import SourceError

_LOGGER = logging.getLogger(__name__)

USER_ERRORS = (
    ConfigError,
    DataFileError,
    ModelError,
    DetectorModelError,
    EdgeTpuUnavailable,
    RuntimeUnavailable,
    SourceError,
)


class CliError(Exception):
    """A user-facing error: printed as one message, exit code 1."""


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", default=None, help="config file (default: $CAMWATCH_CONFIG or /etc/camwatch/config.yml)"
    )


def load(args: argparse.Namespace, cameras: Collection[str] | None = None) -> CamwatchConfig:
    """The config (``cameras``: only those cameras' secrets are resolved; None = all)."""
    config = load_config(getattr(args, "config", None), cameras)
    setup_logging(args.log_level or config.logging.level, config.logging.modules)
    return config


def data_dir_for(config: CamwatchConfig | None) -> Path:
    if config is not None and config.data_dir is not None:
        return Path(config.data_dir).expanduser()
    return default_data_dir()


def run_command(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "info")
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
