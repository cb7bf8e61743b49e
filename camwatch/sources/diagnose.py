"""Why a stream would not open: unreachable, wrong password, not a video stream, timeout.

FFmpeg (inside OpenCV) only says that a capture failed. When the camera test fails, this
module asks the camera itself, the way FFmpeg did: a TCP connection to its port, then one
RTSP ``DESCRIBE`` (or an HTTP ``GET``) with the same login, answering the server's Basic or
Digest challenge. The answer names the cause in words a homeowner can act on. Only the
status line and headers are read; nothing is decoded here (the pipeline's own source does
that).

The standard library is enough: RTSP has no well-kept Python client, and HTTP's login is the
same challenge and answer, so both share the few lines of Digest below (RFC 7616, MD5, which
is what cameras speak).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

#: Reasons, as the web API names them.
UNREACHABLE = "unreachable"
AUTH = "wrong_password"
NOT_VIDEO = "not_video"
TIMEOUT = "timeout"
NOT_FOUND = "not_found"
FAILED = "failed"

_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}
_STATUS = re.compile(r"^(RTSP|HTTP)/\d\.\d (\d{3})(?: (.*))?$")
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]+))')
MAX_HEADER_BYTES = 64 * 1024
_VIDEO_TYPES = ("video/", "multipart/x-mixed-replace", "image/", "application/octet-stream",
                "application/vnd.apple.mpegurl", "application/x-mpegurl", "application/dash+xml")


@dataclass(frozen=True)
class Diagnosis:
    reason: str
    message: str


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: dict[str, str]


class _NoAnswer(Exception):
    """The server closed the connection or sent something that is not RTSP/HTTP."""


def diagnose_stream(url: str, username: str | None, password: str | None, timeout: float) -> Diagnosis:
    """Why ``url`` (without its login: ``username``/``password`` apart) gives no video."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return Diagnosis(UNREACHABLE, "the address is not a valid URL")
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not host:
        return Diagnosis(UNREACHABLE, "the address has no host name")
    port = port or _DEFAULT_PORTS.get(scheme, 80)
    where = f"{host}:{port}"
    if parts.username is not None and username is None:
        username, password = parts.username, parts.password
    clean = urlunsplit((parts.scheme, where if ":" not in host else f"[{host}]:{port}", parts.path,
                        parts.query, ""))
    try:
        first = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror:
        return Diagnosis(UNREACHABLE, f"unreachable: no device is called {host} (check the address)")
    except TimeoutError:
        return Diagnosis(TIMEOUT, f"timeout: {where} did not answer within {timeout:g} s (wrong address, or the "
                                  "camera is off or on another network)")
    except ConnectionRefusedError:
        return Diagnosis(UNREACHABLE, f"unreachable: {where} refused the connection (nothing listens on port "
                                      f"{port}; check the port)")
    except OSError as exc:
        return Diagnosis(UNREACHABLE, f"unreachable: {where}: {exc.strerror or exc}")
    opened = [first]

    def connect() -> socket.socket:
        sock = opened.pop() if opened else socket.create_connection((host, port), timeout=timeout)
        return _tls(sock, host) if scheme in ("rtsps", "https") else sock

    try:
        if scheme in ("rtsp", "rtsps"):
            return _explain(_ask(connect, "RTSP", "DESCRIBE", clean, username, password), "RTSP", username)
        if scheme in ("http", "https"):
            return _explain(_ask(connect, "HTTP", "GET", clean, username, password), "HTTP", username)
        return Diagnosis(FAILED, f"{where} accepts connections, but no video could be read from it")
    except TimeoutError:
        return Diagnosis(TIMEOUT, f"timeout: {where} accepted the connection but did not answer within {timeout:g} s")
    except _NoAnswer as exc:
        return Diagnosis(NOT_VIDEO, f"not a video stream: {where} {exc}")
    except (OSError, ssl.SSLError) as exc:
        return Diagnosis(UNREACHABLE, f"unreachable: {where}: {getattr(exc, 'strerror', None) or exc}")
    finally:
        for sock in opened:
            sock.close()


def _tls(sock: socket.socket, host: str) -> socket.socket:
    # FFmpeg does not check a camera's certificate by default (most are self-signed): neither
    # does the diagnosis, or it would blame the certificate for what FFmpeg did not mind.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(sock, server_hostname=host)


def _ask(connect: Callable[[], socket.socket], protocol: str, method: str, url: str, username: str | None,
         password: str | None) -> Answer:
    """One request; when challenged and a login is known, once more with the answer."""
    sock = connect()
    try:
        reader = sock.makefile("rb")
        answer = _exchange(sock, reader, protocol, method, url, 1, None)
        authorization = None
        if answer.status == 401 and username:
            authorization = authorize(answer.headers.get("www-authenticate", ""), method, url, username,
                                      password or "")
        if authorization is None:
            return answer
        if protocol == "HTTP" or answer.headers.get("connection", "").lower() == "close":
            # an HTTP 401 comes with a page to skip, and servers may close after it: start afresh
            reader.close()
            sock.close()
            sock = connect()
            reader = sock.makefile("rb")
        return _exchange(sock, reader, protocol, method, url, 2, authorization)
    finally:
        sock.close()


def _exchange(sock: socket.socket, reader: BinaryIO, protocol: str, method: str, url: str, seq: int,
              authorization: str | None) -> Answer:
    parts = urlsplit(url)
    if protocol == "RTSP":
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {seq}", "Accept: application/sdp", "User-Agent: camwatch"]
    else:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "User-Agent: camwatch",
                 "Accept: */*", "Connection: keep-alive"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "replace"))
    return _read_answer(reader)


def _read_answer(reader: BinaryIO) -> Answer:
    first = reader.readline(1024).decode("latin-1").strip()
    if not first:
        raise _NoAnswer("closed the connection without answering")
    match = _STATUS.match(first)
    if not match:
        raise _NoAnswer("answers, but not in RTSP or HTTP")
    headers: dict[str, str] = {}
    total = len(first)
    while True:
        line = reader.readline(8192).decode("latin-1")
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise _NoAnswer("sent headers without end")
        line = line.strip()
        if not line:
            break
        key, _, value = line.partition(":")
        key = key.strip().lower()
        value = value.strip()
        # Digest is the stronger login; FFmpeg picks it when offered, so do we.
        if key == "www-authenticate" and key in headers and not value.lower().startswith("digest"):
            continue
        headers[key] = value
    length = headers.get("content-length", "0")
    if protocol_body(length):
        reader.read(int(length))  # the next answer on this connection starts after it
    return Answer(int(match.group(2)), (match.group(3) or "").strip(), headers)


def protocol_body(length: str) -> bool:
    return length.isdigit() and 0 < int(length) <= MAX_HEADER_BYTES


def authorize(challenge: str, method: str, uri: str, username: str, password: str) -> str | None:
    """The ``Authorization`` header answering a Basic or Digest ``WWW-Authenticate`` challenge."""
    scheme, _, rest = challenge.strip().partition(" ")
    if scheme.lower() == "basic":
        return "Basic " + b64encode(f"{username}:{password}".encode()).decode("ascii")
    if scheme.lower() != "digest":
        return None
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(rest)}
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() not in ("MD5", "MD5-SESS"):
        return None

    def md5(text: str) -> str:
        return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    ha1 = md5(f"{username}:{realm}:{password}")
    cnonce = os.urandom(8).hex()
    if algorithm.upper() == "MD5-SESS":
        ha1 = md5(f"{ha1}:{nonce}:{cnonce}")
    ha2 = md5(f"{method}:{uri}")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    fields = [f'username="{username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
    if "auth" in qops:
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    if "algorithm" in params:
        fields.append(f"algorithm={algorithm}")
    return "Digest " + ", ".join(fields)


def _explain(answer: Answer, protocol: str, username: str | None) -> Diagnosis:
    status = answer.status
    said = f"{protocol} {status}" + (f" {answer.text}" if answer.text else "")
    if status == 401:
        if not username:
            return Diagnosis(AUTH, f"wrong password: the camera asks for a user name and password ({said})")
        return Diagnosis(AUTH, f"wrong password: the camera refused this user name and password ({said})")
    if status == 403:
        return Diagnosis(AUTH, f"refused: this user may not watch the stream ({said})")
    if status == 404:
        return Diagnosis(NOT_FOUND, f"not found: the camera has no stream at this path ({said}; check the "
                                    "path in the camera's manual)")
    if 200 <= status < 300:
        kind = answer.headers.get("content-type", "").split(";")[0].strip().lower()
        if protocol == "HTTP" and kind and not kind.startswith(_VIDEO_TYPES):
            return Diagnosis(NOT_VIDEO, f"not a video stream: the address answers with {kind}, not video (a web "
                                        "page? look for the camera's stream address)")
        return Diagnosis(NOT_VIDEO, f"not a video stream camwatch can decode: the camera answers ({said}) but "
                                    "no picture could be read (try its H.264 stream)")
    return Diagnosis(FAILED, f"the camera answered {said}")
