"""A GStreamer RTSP server on loopback; run it with Debian's /usr/bin/python3 (python3-gi).

    /usr/bin/python3 rtsp_server_main.py --port 8554 --live [--width 640 --height 360 --fps 15]
    /usr/bin/python3 rtsp_server_main.py --port 8554 --udp-port 5004
    /usr/bin/python3 rtsp_server_main.py --port 8554 --live --user viewer --password pw [--auth basic]
    /usr/bin/python3 rtsp_server_main.py --check     # every element both kinds need; exit 1 if not
    /usr/bin/python3 rtsp_server_main.py --elements  # element, plugin file and typelibs used

``--live`` serves an endless moving test pattern encoded with x264. ``--udp-port`` serves
the H.264 RTP stream pushed to that loopback UDP port (one socket, relayed into each
client's media pipeline) (tests.support.rtsp runs
``ffmpeg -stream_loop -1 -re`` as the feeder, so a clip loops for ever).
The stream is mounted at /cam. With ``--user``/``--password`` only that login may watch it
(Digest, as most cameras ask, or ``--auth basic``); anyone else gets RTSP 401.
Standard library + gi only: no camwatch imports.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

MOUNT = "/cam"
# What gst-rtsp-server builds around a media pipeline for each client (RTP session,
# UDP and TCP-interleaved transports): missing ones only show when a client connects.
SERVER_ELEMENTS = ("rtpbin", "udpsrc", "udpsink", "multiudpsink", "appsrc", "appsink", "tee", "queue", "funnel")


def live_pipeline(width: int, height: int, fps: int) -> str:
    return (
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},"
        f"framerate={fps}/1 ! timeoverlay ! videoconvert ! x264enc tune=zerolatency "
        f"speed-preset=ultrafast key-int-max={fps} bitrate=800 ! h264parse "
        f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


RTP_CAPS = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96"


def relay_pipeline() -> str:
    return (
        f'( appsrc name=feed is-live=true do-timestamp=true format=time caps="{RTP_CAPS}" '
        "leaky-type=downstream max-bytes=4000000 ! rtpjitterbuffer latency=100 "
        "! rtph264depay ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


class RtpRelay:
    """Receives the feeder's RTP on one UDP socket and copies it into every media's appsrc.

    One socket for the whole server: media pipelines come and go (one per client)
    without ever competing for the UDP port.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", port))
        self._feeds: list[Gst.Element] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="rtp-relay", daemon=True).start()

    def on_media_configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        feed = media.get_element().get_by_name_recurse_up("feed")
        with self._lock:
            self._feeds.append(feed)
        media.connect("unprepared", self._forget, feed)

    def _forget(self, _media: GstRtspServer.RTSPMedia, feed: Gst.Element) -> None:
        with self._lock:
            if feed in self._feeds:
                self._feeds.remove(feed)

    def _run(self) -> None:
        while True:
            data = self.sock.recv(65536)
            with self._lock:
                feeds = list(self._feeds)
            for feed in feeds:
                # Only a playing media takes packets: appsrc stamps each buffer with the
                # pipeline clock (do-timestamp), and a buffer pushed before PLAYING gets a
                # stamp far in the future that the jitter buffer then waits for, so the media
                # never prerolls and the DESCRIBE hangs for rtsp-media's 20 s.
                if feed.get_state(0)[1] != Gst.State.PLAYING:
                    continue
                flow = feed.emit("push-buffer", Gst.Buffer.new_wrapped(data))
                if flow not in (Gst.FlowReturn.OK, Gst.FlowReturn.CUSTOM_SUCCESS):
                    with self._lock:  # the media was torn down
                        if feed in self._feeds:
                            self._feeds.remove(feed)


def check() -> int:
    """Build both media pipelines (as the server would) and look up the server's own
    elements; print what is missing, one line per element, and return 1 if anything is."""
    Gst.init(None)
    missing = [name for name in SERVER_ELEMENTS if Gst.ElementFactory.find(name) is None]
    for launch in (live_pipeline(640, 360, 15), relay_pipeline()):
        for name in _element_names(launch):
            if Gst.ElementFactory.find(name) is None and name not in missing:
                missing.append(name)
        if not missing:
            try:
                Gst.parse_launch(launch.strip()[1:-1])  # the bin's contents, without "( )"
            except GLib.Error as exc:
                missing.append(f"({exc.message})")
    for name in missing:
        print(f"missing GStreamer element: {name}")
    return 1 if missing else 0


def elements() -> int:
    """Print ``element<TAB>plugin file`` for every element used, then ``typelib<TAB>file`` for
    the GObject namespaces imported here (to find their Debian packages)."""
    Gst.init(None)
    names = list(SERVER_ELEMENTS)
    for launch in (live_pipeline(640, 360, 15), relay_pipeline()):
        names += [n for n in _element_names(launch) if n not in names]
    for name in names:
        factory = Gst.ElementFactory.find(name)
        plugin = factory.get_plugin() if factory is not None else None
        print(f"{name}\t{plugin.get_filename() if plugin is not None else ''}")
    repository = gi.Repository.get_default()
    for namespace in ("GLib", "Gst", "GstRtsp", "GstRtspServer"):
        print(f"typelib:{namespace}\t{repository.get_typelib_path(namespace)}")
    print(f"module:gi\t{gi.__file__}")
    return 0


def _element_names(launch: str) -> list[str]:
    """The element factories of a gst-launch description such as ``( a x=1 ! b ! c )``."""
    names = []
    for part in launch.strip().strip("()").split("!"):
        words = part.split()
        if words and "=" not in words[0] and "/" not in words[0]:
            names.append(words[0])
    return names


def require_login(server: GstRtspServer.RTSPServer, factory: GstRtspServer.RTSPMediaFactory, user: str,
                  password: str, method: str) -> None:
    """Only ``user`` with ``password`` may watch; the server answers others with 401."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "viewer")
    if method == "basic":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    else:
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.add_digest(user, password, token)
    server.set_auth(auth)
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role("viewer", "media.factory.access", True)
    permissions.add_permission_for_role("viewer", "media.factory.construct", True)
    factory.set_permissions(permissions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    args = sys.argv[1:] if argv is None else argv
    if "--check" in args:
        return check()
    if "--elements" in args:
        return elements()
    parser.add_argument("--port", type=int, required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--live", action="store_true")
    source.add_argument("--udp-port", type=int)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--user", help="the only login allowed to watch (with --password)")
    parser.add_argument("--password", default="")
    parser.add_argument("--auth", choices=("digest", "basic"), default="digest")
    args = parser.parse_args(argv)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    if args.live:
        factory.set_launch(live_pipeline(args.width, args.height, args.fps))
    else:
        relay = RtpRelay(args.udp_port)
        factory.set_launch(relay_pipeline())
        factory.connect("media-configure", relay.on_media_configure)
    factory.set_shared(False)
    if args.user:
        require_login(server, factory, args.user, args.password, args.auth)
    server.get_mount_points().add_factory(MOUNT, factory)
    if server.attach(None) == 0:
        print(f"rtsp server: cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 2

    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f"rtsp server: rtsp://127.0.0.1:{args.port}{MOUNT}", file=sys.stderr, flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
