"""`camwatch run`: watch every configured camera until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from camwatch.cli.common import CliError, add_config_argument, data_dir_for, load

if TYPE_CHECKING:
    from camwatch.config import CamwatchConfig
    from camwatch.datafiles import DataFileError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run camwatch (capture, detect, track, events, web UI, MQTT)")
    add_config_argument(parser)
    parser.add_argument("--no-web", action="store_true", help="do not serve the web UI")
    parser.add_argument("--no-mqtt", action="store_true", help="do not publish to MQTT")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from camwatch.config import config_path
    from camwatch.datafiles import DataFileError, keep_data_private

    config = load(args)  # a config error is reported before the whole app is imported
    from camwatch.app import Camwatch
    from camwatch.detectors.base import ModelError as DetectorModelError
    from camwatch.web.listener import WebServerError

    keep_data_private()
    try:
        app = Camwatch(
            config, config_path=config_path(args.config), with_web=not args.no_web, with_mqtt=not args.no_mqtt
        )
    except PermissionError as exc:  # e.g. the data dir itself cannot be created
        raise _permission_error(exc) from None
    except DetectorModelError as exc:
        raise _every_missing_model(config, exc) from None
    keep_data_private(app.data_dir)
    try:
        return app.run_forever()
    except WebServerError as exc:  # a busy port: run_forever stopped what had started
        raise CliError(str(exc)) from None
    except (DataFileError, PermissionError) as exc:
        # A part that started before the failing one (MQTT, say) is stopped before exiting.
        with contextlib.suppress(Exception):
            app.stop()
        if isinstance(exc, PermissionError):
            raise _permission_error(exc) from None
        raise


def _every_missing_model(config: CamwatchConfig, exc: Exception) -> Exception:
    """A missing detector model: the error names every missing file the configuration needs
    (the face models too), so an offline install is one folder, not one error per file."""
    from camwatch.model_install import missing_files, missing_message, models_in_use
    from camwatch.models import ModelError, ModelManager

    try:
        manager = ModelManager(data_dir_for(config))
        missing = missing_files(manager, models_in_use(config.detector, config.faces))
    except ModelError:
        return exc
    if config.detector.model_path is not None or config.detector.model not in {m.model for m in missing}:
        return exc
    return ModelError(missing_message(manager, missing))


def _permission_error(exc: PermissionError) -> DataFileError:
    from camwatch.datafiles import data_file_error

    path = Path(exc.filename) if exc.filename else Path(".")
    return data_file_error(path, exc, "the data file")
