"""`camwatch doctor`: check the box, the models, the cameras and the broker in one go.

Prints a table (CHECK, RESULT, DETAIL, FIX) or JSON. Exit code for scripts:
0 every check passed, 1 at least one failed, 2 warnings only.
Secrets never appear: every row goes through ``camwatch.secrets.redact``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from camwatch.config import CamwatchConfig, ConfigError, config_path, load_config
from camwatch.config.detector import DetectorConfig
from camwatch.paths import default_data_dir
from camwatch.service import connection_checks, host_checks
from camwatch.service.report import CheckResult, exit_code, fail, ok, warn, write_json, write_table

_LOGGER = logging.getLogger(__name__)


def _load(path: str | None) -> tuple[CamwatchConfig | None, CheckResult]:
    file = config_path(path)
    try:
        config = load_config(file)
    except ConfigError as exc:
        missing = not file.exists()
        fix = f"camwatch init --config {file}" if missing else "fix the listed keys (camwatch config check)"
        return None, fail("config", f"{exc.source}: " + "; ".join(exc.errors), fix)
    cameras = len(config.cameras)
    return config, ok("config", f"{file} is valid ({cameras} camera{'s' if cameras != 1 else ''})")


def run_checks(config_file: str | None, timeout: float = 10.0) -> list[CheckResult]:
    """Every check, in the order of the table. Checks that need the config are skipped
    (the config row says why) when it cannot be loaded."""
    results: list[CheckResult] = list(host_checks.check_python())
    config, config_row = _load(config_file)
    results.append(config_row)
    detector = config.detector if config else DetectorConfig()
    data_dir = Path(config.data_dir).expanduser() if config and config.data_dir else default_data_dir()

    runtime_rows, runtime = host_checks.check_runtime(detector.runtime)
    results += runtime_rows
    results += host_checks.check_edgetpu(detector.device, detector.runtime)
    want_tpu = host_checks.edgetpu_in_use(detector.device)
    model_rows, model_file = host_checks.check_models(config, data_dir, want_tpu)
    results += model_rows
    results += host_checks.check_xnnpack(runtime, model_file, detector.num_threads)
    results += host_checks.check_data_dir(data_dir)
    results += host_checks.check_clock(timeout=timeout)
    if config is not None and config.web.enabled:
        results += _web_setup(data_dir, config.web.port)
    if config is not None:
        results.append(connection_checks.check_mqtt(config.mqtt, timeout))
        results += connection_checks.check_cameras(config.cameras, timeout)
        if not config.cameras:
            page = f"http://<this device>:{config.web.port}/cameras" if config.web.enabled else "the config"
            results.append(warn("cameras", "no camera configured yet", f"add one on the web page ({page})"))
    return results


def _web_setup(data_dir: Path, port: int) -> list[CheckResult]:
    """The first-run setup code while the web UI has no admin password yet."""
    from camwatch.setup_code import read_setup_code

    code = read_setup_code(data_dir)
    if code is None:
        return []
    return [warn("web setup", f"no admin password yet; setup code: {code}",
                 f"open http://<this device>:{port}/setup and enter the setup code")]


def run_doctor(
    config_path: str | None, *, timeout: float = 10, as_json: bool = False, out: TextIO | None = None
) -> int:
    """Run every check, print the table (or JSON) and return 0 ok / 1 any fail / 2 warnings only."""
    stream = out or sys.stdout
    results = run_checks(config_path, timeout)
    if as_json:
        write_json(results, stream)
    else:
        write_table(results, stream)
    stream.flush()
    return exit_code(results)
