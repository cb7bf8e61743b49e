"""Cameras from the web page: the settings the form shows, and how a change lands in config.yml.

A camera's source is one of three kinds: a network stream (rtsp://, http(s)://, with an
optional login), a USB camera (/dev/videoN) or a video file. The login never goes into the
YAML in clear: the user name is kept beside the address, the password in a 0600 file under
``<data dir>/secrets`` that the config refers to with ``${file:...}``; the address with the
password in it exists only when the stream is opened. Changes go through the config writer
(comments kept, validated by the config models, atomic) and are applied at once.

Fields a request leaves out keep their value (a new camera gets the defaults); ``password``
left out keeps the stored password, ``""`` removes it. An address typed with its login in it
(``rtsp://user:password@host/...``) is split the same way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from camwatch import secrets
from camwatch.config import CamwatchConfig
from camwatch.config.camera import CameraConfig
from camwatch.config.writer import (
    ConfigWriteError,
    get_path,
    plain_scalar,
    referenced_file,
    remove_secret,
    secret_reference,
    write_secret,
)
from camwatch.const import DEFAULT_DETECT_FPS, DEFAULT_TRACKED_LABELS
from camwatch.names import CAMERA_NAME, LABEL_NAME, InvalidName, clean_display_name
from camwatch.sources.base import SourceKind, source_kind
from camwatch.web.context import WebContext
from camwatch.web.zones import MAX_LABELS

_LOGGER = logging.getLogger(__name__)

#: A host name or IPv4 address (an IPv6 literal would need the camera's name instead).
STREAM_URL = r"^(?:rtsps?|https?|rtmp)://(?:[^\s/?#@\[\]]*@)?[A-Za-z0-9._~%-]+(?::[0-9]{1,5})?(?:[/?#]\S*)?$"
USB_DEVICE = r"^/dev/video[0-9]{1,3}$"
FILE_PATH = r"^/[^\x00-\x1f\x7f]*$"
LOGIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
MAX_URL = 2000
MAX_PATH = 4096
MAX_LOGIN = 200
MAX_DISPLAY_NAME = 64
MAX_FPS = 60
#: Labels the form offers (COCO names the detectors know); the camera's own come first.
LABEL_CHOICES = ("person", "car", "truck", "bus", "motorcycle", "bicycle", "dog", "cat", "bird", "horse")
_KIND_KEYS = {"stream": {"kind", "url", "username", "password"}, "usb": {"kind", "device"},
              "file": {"kind", "path", "loop"}}
_FIELDS = frozenset({"source", "name", "enabled", "labels", "fps"})


class CameraEditError(ValueError):
    """The request cannot be saved; ``status`` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(secrets.redact(message))
        self.status = status


@dataclass(frozen=True)
class Source:
    """A camera source as the form edits it (the password apart: never shown)."""

    kind: str
    url: str  # stream address without login, device path or file path
    username: str | None = None
    loop: bool = False

    def public(self, has_password: bool) -> dict[str, Any]:
        if self.kind == "stream":
            return {"kind": "stream", "url": secrets.redact(self.url), "username": self.username,
                    "has_password": has_password}
        if self.kind == "usb":
            return {"kind": "usb", "device": self.url}
        return {"kind": "file", "path": self.url, "loop": self.loop}


def split_login(url: str) -> tuple[str, str | None, str | None]:
    """``rtsp://user:pw@host/x`` → (``rtsp://host/x``, user, pw), percent-decoded."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    login, _, host = parts.netloc.rpartition("@")
    user, colon, password = login.partition(":")
    plain = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return plain, unquote(user) or None, unquote(password) if colon else None


def current_source(cam: CameraConfig) -> tuple[Source, str | None]:
    """The camera's source as the form shows it, and its password (resolved; never sent out)."""
    kind = source_kind(cam.url)
    password = cam.password.get_secret_value() if cam.password is not None else None
    if kind is SourceKind.STREAM:
        try:
            plain, user, in_url = split_login(cam.url)
        except ValueError:
            plain, user, in_url = cam.url, None, None
        return Source("stream", plain, cam.username or user), password if password is not None else in_url
    if kind is SourceKind.USB:
        return Source("usb", cam.url if cam.url.startswith("/dev/") else f"/dev/video{cam.url}"), None
    return Source("file", cam.url, loop=cam.source.loop), None


def camera_settings(name: str, cam: CameraConfig) -> dict[str, Any]:
    source, password = current_source(cam)
    return {"name": name, "display_name": cam.name or name, "enabled": cam.enabled,
            "source": source.public(bool(password)), "labels": list(cam.objects.track), "fps": cam.detect.fps}


def settings_summary(ctx: WebContext) -> dict[str, Any]:
    labels = list(LABEL_CHOICES)
    for cam in ctx.config.cameras.values():
        labels += [label for label in cam.objects.track if label not in labels]
    return {
        "writable": ctx.config_path is not None,
        "cameras": [camera_settings(n, c) for n, c in ctx.config.cameras.items()],
        "choices": {"labels": labels, "default_labels": list(DEFAULT_TRACKED_LABELS), "default_fps": DEFAULT_DETECT_FPS},
    }


# ------------------------------------------------------------------ requests
@dataclass(frozen=True)
class SourceEdit:
    source: Source
    password: str | None  # None: keep the stored one; "": none


def check_camera_name(name: str) -> None:
    if not CAMERA_NAME.matches(name):
        raise CameraEditError(f"the camera name must be {CAMERA_NAME.rule}")


def matches(pattern: str, value: str) -> bool:
    r"""``value`` matches ``^pattern$`` as the API document means it: the whole string (a closing
    newline is not let through, as Python's ``$`` would), ``\d`` and ``\s`` over ASCII."""
    return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value, re.ASCII) is not None


def _text(where: str, value: Any, pattern: str, max_length: int) -> str:
    if not isinstance(value, str) or len(value) > max_length or not matches(pattern, value):
        raise CameraEditError(f"{where}: not valid (see the API document for its form)")
    return value


def check_source(value: Any) -> SourceEdit:
    """``{"kind": "stream", "url", "username"?, "password"?}``, ``{"kind": "usb", "device"}`` or
    ``{"kind": "file", "path", "loop"?}``, checked exactly as the API document states."""
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str) or value["kind"] not in _KIND_KEYS:
        raise CameraEditError('source: an object with kind "stream", "usb" or "file"')
    kind = value["kind"]
    unknown = set(value) - _KIND_KEYS[kind]
    if unknown:
        raise CameraEditError(f"source: unknown key(s) for kind {kind}: {', '.join(sorted(unknown))}")
    if kind == "usb":
        return SourceEdit(Source("usb", _text("source.device", value.get("device"), USB_DEVICE, 20)), None)
    if kind == "file":
        loop = value.get("loop", False)
        if not isinstance(loop, bool):
            raise CameraEditError("source.loop: must be true or false")
        return SourceEdit(Source("file", _text("source.path", value.get("path"), FILE_PATH, MAX_PATH), loop=loop), None)
    url = _text("source.url", value.get("url"), STREAM_URL, MAX_URL)
    username = value.get("username")
    if username is not None:
        username = _text("source.username", username, LOGIN_TEXT, MAX_LOGIN)
    password = value.get("password")
    if "password" in value:
        password = _text("source.password", password, LOGIN_TEXT, MAX_LOGIN)
    plain, url_user, url_password = split_login(url)
    if url_password is not None:
        secrets.register(url_password)
    if not username and url_user:
        username = url_user
        if password is None:
            password = url_password
    return SourceEdit(Source("stream", plain, username or None), password)


@dataclass(frozen=True)
class CameraEdit:
    source: SourceEdit
    fields: dict[str, Any]  # name, enabled, labels, fps: those the request gave


def check_request(body: Any) -> CameraEdit:
    if not isinstance(body, dict) or "source" not in body:
        raise CameraEditError('the body must be a JSON object with "source"')
    unknown = set(body) - _FIELDS
    if unknown:
        raise CameraEditError(f"unknown key(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(_FIELDS))})")
    fields: dict[str, Any] = {}
    if "name" in body:
        try:
            fields["name"] = None if body["name"] is None else clean_display_name(body["name"], MAX_DISPLAY_NAME)
        except InvalidName as exc:
            raise CameraEditError(f"name: {exc}") from None
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise CameraEditError("enabled: must be true or false")
        fields["enabled"] = body["enabled"]
    if "labels" in body:
        labels = body["labels"]
        if not isinstance(labels, list) or len(labels) > MAX_LABELS or not all(
                LABEL_NAME.matches(label) for label in labels):
            raise CameraEditError(f"labels: a list of at most {MAX_LABELS} labels (lower case letters, digits, "
                                  "space, _ and -)")
        fields["labels"] = list(dict.fromkeys(labels))
    if "fps" in body:
        fps = body["fps"]
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= MAX_FPS:
            raise CameraEditError(f"fps: a number of frames per second above 0, at most {MAX_FPS}")
        fields["fps"] = fps
    return CameraEdit(check_source(body["source"]), fields)


def same_place(a: str, b: str) -> bool:
    """Two stream addresses on the same scheme, host and port (a stored password may go there)."""
    try:
        first, second = urlsplit(a), urlsplit(b)
        return (first.scheme.lower(), first.hostname, first.port) == (second.scheme.lower(), second.hostname,
                                                                      second.port)
    except ValueError:
        return False


def stored_login(ctx: WebContext, name: str, source: Source) -> str | None:
    """Camera ``name``'s stored password, when ``source`` still points where it was given for:
    the same user on the same scheme, host and port. A stored password never goes to another
    address — or anyone allowed to change a camera could read it off a server of their own."""
    cam = ctx.config.cameras.get(name)
    if cam is None or source.kind != "stream":
        return None
    stored, password = current_source(cam)
    if stored.kind != "stream" or stored.username != source.username or not same_place(stored.url, source.url):
        return None
    return password


def login_for_trial(ctx: WebContext, name: str, edit: SourceEdit) -> str | None:
    """The password a test uses: the one typed, else the stored one (see ``stored_login``)."""
    if edit.password is not None:
        return edit.password or None
    return stored_login(ctx, name, edit.source)


# ------------------------------------------------------------------ saving
def _set(entry: CommentedMap, keys: list[str], value: Any, default: Any, new: bool) -> None:
    """Write a value the file had, or one that differs from the default (a new camera: always)."""
    node = entry
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            if not new and value == default:
                return
            child = CommentedMap()
            node[key] = child
        node = child
    if new or keys[-1] in node or value != default:
        node[keys[-1]] = plain_scalar(value)


def _cameras_map(doc: CommentedMap) -> CommentedMap:
    cameras = doc.get("cameras")
    if not isinstance(cameras, dict):
        cameras = CommentedMap()
        doc["cameras"] = cameras
    if not cameras and cameras.fa.flow_style():
        cameras.fa.set_block_style()  # `cameras: {}` of a starter config grows as a block
    return cameras


def save_camera(ctx: WebContext, name: str, body: Any) -> tuple[CamwatchConfig, bool]:
    """Add or change camera ``name``; returns the applied config and whether it is new."""
    check_camera_name(name)
    edit = check_request(body)
    writer = ctx.config_writer("cameras")
    existing = ctx.config.cameras.get(name)
    wanted = edit.source
    unchanged = False
    keep: str | None = None  # a stored password carried over to a new secret file
    if existing is not None:
        current, stored_password = current_source(existing)
        shown = Source(current.kind, secrets.redact(current.url), current.username, current.loop)
        unchanged = wanted.password is None and (wanted.source == current or wanted.source == shown)
        if wanted.password is None and wanted.source.kind == "stream" and wanted.source.username:
            keep = stored_login(ctx, name, wanted.source)
            if keep is None and stored_password and not unchanged:
                raise CameraEditError(f"the stored password is for {secrets.redact(current.url)} as "
                                      f"{current.username}: type the password again for the new address or user",
                                      409)
    password = wanted.password if wanted.password is not None else keep
    new_file = None
    if not unchanged and wanted.source.kind == "stream" and wanted.source.username and password:
        new_file = write_secret(ctx.secrets_dir, f"camera-{name}", password)
    old_reference: list[Any] = []

    def change(doc: CommentedMap) -> None:
        cameras = _cameras_map(doc)
        entry = cameras.get(name)
        new = not isinstance(entry, dict)
        if new and existing is not None:
            raise ConfigWriteError(f"camera {name!r} is not in {ctx.config_path} (it comes from elsewhere)", 409)
        if new:
            entry = CommentedMap()
            cameras[name] = entry
        old_reference.append(entry.get("password"))
        if not unchanged:
            _write_source(entry, wanted.source, new_file)
        fields = edit.fields
        if "name" in fields:
            if fields["name"] and fields["name"] != name:
                entry["name"] = plain_scalar(fields["name"])
            else:
                entry.pop("name", None)
        if "enabled" in fields:
            _set(entry, ["enabled"], fields["enabled"], True, False)
        fps = fields.get("fps", existing.detect.fps if existing else DEFAULT_DETECT_FPS)
        _set(entry, ["detect", "fps"], int(fps) if float(fps).is_integer() else fps, DEFAULT_DETECT_FPS, new)
        if "labels" in fields or new:
            labels = fields.get("labels", list(DEFAULT_TRACKED_LABELS))
            _set(entry, ["objects", "track"], labels, list(DEFAULT_TRACKED_LABELS), new)
            track = get_path(entry, ["objects", "track"])
            if isinstance(track, CommentedSeq):
                track.fa.set_flow_style()  # [person, car] on one line, as the starter config writes it

    try:
        config = writer.update(change)
    except BaseException:
        remove_secret(ctx.secrets_dir, new_file)
        raise
    if not unchanged and old_reference:
        remove_secret(ctx.secrets_dir, referenced_file(old_reference[0]))
    _LOGGER.info("camera %s %s", name, "added" if existing is None else "changed")
    ctx.use_config(config)
    return config, existing is None


def _write_source(entry: CommentedMap, source: Source, password_file: Path | None) -> None:
    entry["url"] = plain_scalar(source.url)
    if source.kind == "stream" and source.username:
        entry["username"] = plain_scalar(source.username)
    else:
        entry.pop("username", None)
    if password_file is not None:
        entry["password"] = plain_scalar(secret_reference(password_file))
    else:
        entry.pop("password", None)
    if source.kind == "file":
        _set(entry, ["source", "loop"], source.loop, False, False)


def delete_camera(ctx: WebContext, name: str) -> CamwatchConfig:
    """Remove camera ``name`` from the config (its recorded events stay) and stop it."""
    if name not in ctx.config.cameras:
        raise CameraEditError(f"no camera {name!r}", 404)
    old_reference: list[Any] = []

    def change(doc: CommentedMap) -> None:
        cameras = doc.get("cameras")
        entry = cameras.get(name) if isinstance(cameras, dict) else None
        if not isinstance(entry, dict):
            raise ConfigWriteError(f"camera {name!r} is not in {ctx.config_path}", 409)
        old_reference.append(entry.get("password"))
        del cameras[name]

    config = ctx.config_writer("cameras").update(change)
    remove_secret(ctx.secrets_dir, referenced_file(old_reference[0]) if old_reference else None)
    _LOGGER.info("camera %s removed (its events stay)", name)
    ctx.use_config(config)
    return config
