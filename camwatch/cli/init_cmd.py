"""`camwatch init`: write a commented starter config (offering the USB cameras found).

With no camera given and none plugged in, the config has no camera: camwatch then starts
with its web page only, where cameras are added (nothing to edit by hand)."""

from __future__ import annotations

import argparse
import glob
import sys

from camwatch.atomic import write_atomic
from camwatch.cli.common import CliError
from camwatch.const import DEFAULT_DETECTOR_MODEL

TEMPLATE = """\
# camwatch configuration. Check it with: camwatch config check {path}
# Every option is described in docs/configuration.md. Secrets: write ${{ENV_VAR}} or
# ${{file:/path/to/secret}} instead of the value; they are never logged.

{cameras}
# Object detector. `camwatch models pull` downloads the model (SHA-256 checked).
detector:
  model: {model}   # `camwatch models list`; on a Coral: ssdlite_mobiledet_coco_qat
  device: auto        # auto = Coral Edge TPU when present, else CPU; or cpu, usb, usb:0, pci
  num_threads: 2

# Local web UI (log in with the password you set on first visit).
web:
  port: 5080

# Publish results (never video) to an MQTT broker, e.g. for Home Assistant.
mqtt:
  enabled: false
  host: 127.0.0.1
  # username: camwatch
  # password: ${{CAMWATCH_MQTT_PASSWORD}}

storage:
  retain_days: 30
  max_snapshot_mb: 1024
"""

NO_CAMERA = """\
# Cameras: add them on the web page (Cameras), or here, for example
#   front_door:
#     url: rtsp://192.168.1.20:554/stream1
#     username: viewer
#     password: ${{file:/etc/camwatch/front_door.password}}   # a file holding only the password
cameras: {{}}
"""

CAMERA = """\
  {name}:
    url: {url}
    detect:
      fps: 5
    objects:
      track: [person, car, dog, cat, bicycle, motorcycle]
    # zones:
    #   driveway:
    #     coordinates: [[0.1, 0.6], [0.9, 0.6], [0.9, 1.0], [0.1, 1.0]]   # relative to the frame
    #     objects: [person, car]
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("init", help="write a commented starter config")
    parser.add_argument("--config", "-c", default=None, help="where to write it (default: $CAMWATCH_CONFIG or /etc/camwatch/config.yml)")
    parser.add_argument("--url", action="append", default=[], help="a camera URL (repeat for several)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(func=init_command)


def usb_cameras() -> list[str]:
    return sorted(glob.glob("/dev/video*"), key=lambda p: int(p[len("/dev/video"):] or 0))


def init_command(args: argparse.Namespace) -> int:
    from camwatch.config import config_path, load_config

    path = config_path(args.config)
    if path.exists() and not args.force:
        raise CliError(f"{path} already exists (use --force to overwrite)")
    urls = list(args.url)
    found = usb_cameras()
    if not urls and found:
        print("USB cameras found: " + ", ".join(found), file=sys.stderr)
        urls = found[:1]
    if urls:
        cameras = "cameras:\n" + "".join(CAMERA.format(name=f"camera_{i + 1}", url=u) for i, u in enumerate(urls))
    else:
        cameras = NO_CAMERA.format()
        print("no USB camera found: add your cameras on the web page", file=sys.stderr)
    text = TEMPLATE.format(path=path, cameras=cameras, model=DEFAULT_DETECTOR_MODEL)
    write_atomic(path, text, durable=True)
    print(f"wrote {path}")
    try:
        load_config(path, cameras=())  # the cameras' ${...} secrets may not exist yet where init runs
    except Exception as exc:  # the template must always validate; say so if it does not
        raise CliError(f"the written config does not validate: {exc}") from exc
    print("next: `camwatch models pull`, then `camwatch run` (and open the web page it names)")
    return 0
