"""A real GStreamer RTSP server on loopback, as a subprocess, to play a camera in tests.

Two kinds of stream:

- ``RtspServer(clip)``: the clip is converted once (ffmpeg, H.264, first ``seconds``) to a
  cached MKV; an ``ffmpeg -stream_loop -1 -re`` feeder pushes it as RTP over loopback
  UDP to the server, so the clip loops for ever and the feeder survives server restarts.
- ``RtspServer(None)`` / ``RtspServer.live()``: an endless live ``videotestsrc`` (moving
  ball) encoded by x264 inside the server: the best choice for reconnect tests.

Failure modes: ``kill()`` = dead camera (SIGKILL), ``freeze()`` = frozen camera (SIGSTOP,
TCP stays open, no data), ``thaw()`` (SIGCONT), ``restart()`` on the same port.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.support.netutil import LOOPBACK, free_port, free_udp_port, tail, wait_for_port

_LOGGER = logging.getLogger(__name__)

SYSTEM_PYTHON = Path("/usr/bin/python3")
SERVER_MAIN = Path(__file__).with_name("rtsp_server_main.py")
CACHE_DIR = Path(tempfile.gettempdir()) / "camwatch-test-rtsp-cache"


def rtsp_missing() -> list[str]:
    """What the RTSP test camera lacks on this machine (empty when it can run): Debian's
    python3 with GStreamer's RTSP server bindings, every element of both stream kinds and of
    the server itself (``rtsp_server_main.py --check``), and ffmpeg with its H.264 encoder."""
    missing: list[str] = []
    if not SYSTEM_PYTHON.is_file():
        return [f"{SYSTEM_PYTHON} (apt-get install python3)"]
    result = subprocess.run(
        [str(SYSTEM_PYTHON), str(SERVER_MAIN), "--check"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).strip().splitlines()
        missing += lines[-5:] or [f"rtsp_server_main.py --check exited {result.returncode}"]
    if shutil.which("ffmpeg") is None:
        missing.append("ffmpeg")
    else:
        encoders = subprocess.run(
            ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30, check=False
        )
        if "libx264" not in encoders.stdout:
            missing.append("ffmpeg's libx264 encoder")
    return missing


def rtsp_available() -> bool:
    return not rtsp_missing()


def convert_clip(clip: Path, seconds: float = 20.0, width: int = 640) -> Path:
    """H.264 MKV of the clip's first ``seconds`` at ``width`` (cached across tests)."""
    stat = clip.stat()
    key = hashlib.sha256(
        f"{clip.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{seconds}|{width}".encode()
    ).hexdigest()[:16]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    target = CACHE_DIR / f"{clip.stem}-{key}.mkv"
    if target.is_file():
        return target
    partial = target.with_suffix(f".{time.monotonic_ns()}.part.mkv")
    cmd = [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip),
        "-t", str(seconds), "-an", "-vf", f"scale={width}:-2", "-c:v", "libx264",
        "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "12", "-bf", "0",
        "-x264-params", "repeat-headers=1",
        str(partial),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg could not convert {clip}: {result.stderr.strip()}")
    partial.replace(target)
    return target


def rtsp_describe_ok(url: str, port: int, timeout: float = 3.0, login_required: bool = False) -> bool:
    """Send an RTSP DESCRIBE; True on a 200 answer (the media is prepared and flowing), or
    on 401 when the server asks for a login (it is up; the media starts per client)."""
    request = f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.sendall(request.encode())
            answer = sock.recv(4096).decode(errors="replace")
    except OSError:
        return False
    return answer.startswith("RTSP/1.0 200") or (login_required and answer.startswith("RTSP/1.0 401"))


class RtspServer:
    def __init__(
        self,
        clip: Path | None = None,
        port: int | None = None,
        *,
        seconds: float = 20.0,
        width: int = 640,
        height: int = 360,
        fps: int = 15,
        startup_timeout: float = 20.0,
        username: str | None = None,
        password: str = "",
        auth: str = "digest",
    ) -> None:
        self.clip = clip
        self.port = port or free_port()
        self.width, self.height, self.fps = width, height, fps
        self.seconds = seconds
        self.startup_timeout = startup_timeout
        self.username, self.password, self.auth = username, password, auth
        self.workdir = Path(tempfile.mkdtemp(prefix="camwatch-rtsp-"))
        self.log_path = self.workdir / "server.log"
        self.feeder_log_path = self.workdir / "feeder.log"
        self._udp_port = free_udp_port() if clip is not None else None
        self._server: subprocess.Popen[bytes] | None = None
        self._feeder: subprocess.Popen[bytes] | None = None
        self._stream: Path | None = None

    @classmethod
    def live(cls, port: int | None = None, **kwargs: object) -> RtspServer:
        return cls(None, port, **kwargs)  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return f"rtsp://{LOOPBACK}:{self.port}/cam"

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.poll() is None

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    # ------------------------------------------------------------- control
    def start(self) -> RtspServer:
        if self.running:
            return self
        if self.clip is not None:
            self._start_feeder()
        cmd = [str(SYSTEM_PYTHON), str(SERVER_MAIN), "--port", str(self.port)]
        if self._udp_port is None:
            cmd += ["--live", "--width", str(self.width), "--height", str(self.height)]
            cmd += ["--fps", str(self.fps)]
        else:
            cmd += ["--udp-port", str(self._udp_port)]
        if self.username:
            cmd += ["--user", self.username, "--password", self.password, "--auth", self.auth]
        with self.log_path.open("ab") as log:
            self._server = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.wait_ready()
        _LOGGER.info("rtsp server pid %s serving %s", self.pid, self.url)
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        """Wait for TCP, then for an RTSP DESCRIBE that answers 200."""
        timeout = self.startup_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        wait_for_port(self.port, self._server, timeout, "rtsp server", self.log_path)
        while time.monotonic() < deadline:
            if self._server is not None and self._server.poll() is not None:
                break
            if rtsp_describe_ok(self.url, self.port, login_required=bool(self.username)):
                return
            time.sleep(0.1)
        raise TimeoutError(
            f"rtsp server {self.url} never answered DESCRIBE:\n{tail(self.log_path)}\n"
            f"feeder:\n{tail(self.feeder_log_path)}"
        )

    def kill(self) -> None:
        """SIGKILL the server: a dead camera (the clip feeder keeps running)."""
        server, self._server = self._server, None
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()

    def freeze(self) -> None:
        """SIGSTOP the server: a frozen camera (connections stay open, no data)."""
        if self._server is not None:
            self._server.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._server is not None:
            self._server.send_signal(signal.SIGCONT)

    def restart(self) -> RtspServer:
        self._stop_server()
        return self.start()

    def stop(self) -> None:
        """Stop server and feeder (the server is thawed first so it can exit)."""
        self._stop_server()
        self._stop_feeder()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------ internals
    def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is None or server.poll() is not None:
            return
        server.send_signal(signal.SIGCONT)
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    def _start_feeder(self) -> None:
        if self._feeder is not None and self._feeder.poll() is None:
            return
        assert self.clip is not None and self._udp_port is not None
        if self._stream is None:
            self._stream = convert_clip(self.clip, self.seconds, self.width)
        cmd = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-re", "-stream_loop", "-1", "-i", str(self._stream),
            "-c", "copy", "-f", "rtp", "-payload_type", "96",
            f"rtp://{LOOPBACK}:{self._udp_port}?pkt_size=1200",
        ]  # fmt: skip
        with self.feeder_log_path.open("ab") as log:
            self._feeder = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def _stop_feeder(self) -> None:
        feeder, self._feeder = self._feeder, None
        if feeder is None or feeder.poll() is not None:
            return
        feeder.terminate()
        try:
            feeder.wait(5)
        except subprocess.TimeoutExpired:
            feeder.kill()
            feeder.wait()

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.thaw()
            self.kill()
            self._stop_feeder()
