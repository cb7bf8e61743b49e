"""A real Mosquitto broker on free loopback ports, for tests.

Usage::

    with MosquittoBroker(users={"cam": "pw"}, tls=True) as broker:
        broker.port, broker.tls_port, broker.ca_path, broker.client_cert ...

    # a site broker bridged to a central one, as an integrator runs them
    with MosquittoBroker() as central, MosquittoBroker(bridges=[Bridge("site-a", central.port)]) as site:
        site.subscriptions()  # with log_subscriptions=True: (client id, topic) of every SUBSCRIBE
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.support.netutil import LOOPBACK, free_port, wait_for_port
from tests.support.tls import TestPki, make_test_pki

_LOGGER = logging.getLogger(__name__)

MOSQUITTO = Path("/usr/sbin/mosquitto")
MOSQUITTO_PASSWD = "mosquitto_passwd"
MOSQUITTO_CTRL = "mosquitto_ctrl"


def dynsec_plugin() -> str | None:
    """Mosquitto's own ACL plugin (package mosquitto): unlike acl_file, it answers a
    subscription it does not allow with a refusal in the SUBACK, as EMQX and HiveMQ do."""
    return next((str(path) for path in sorted(Path("/usr/lib").glob("*/mosquitto_dynamic_security.so"))), None)


def mosquitto_available() -> bool:
    return MOSQUITTO.is_file() and shutil.which(MOSQUITTO_PASSWD) is not None


#: The topics an integrator's site broker bridges to the central one (docs/fleet.md).
SITE_BRIDGE_TOPICS = ("camwatch/# both 1", "homeassistant/# out 1", "homeassistant/status in 1")
_SUBSCRIBE_LINE = re.compile(r"^\d+: (\S+) (\d) (\S+)$")


@dataclass(frozen=True)
class Bridge:
    """A Mosquitto bridge from this broker to another on loopback ``port``.

    ``topics``: ``topic`` lines as in mosquitto.conf (pattern, direction, QoS). The bridge
    uses MQTT 3.1.1 with ``try_private`` (Mosquitto marks its own connection so the remote
    end sends nothing back that came from it) and a short restart timeout, so a test sees
    it come back within seconds.
    """

    name: str
    port: int
    topics: tuple[str, ...] = SITE_BRIDGE_TOPICS
    restart_timeout: int = 1
    extra: tuple[str, ...] = field(default_factory=tuple)
    config: tuple[str, ...] = ()  # the whole bridge section as given (e.g. from docs/fleet.md)

    def lines(self) -> list[str]:
        if self.config:
            return list(self.config)
        lines = [f"connection {self.name}", f"address {LOOPBACK}:{self.port}", f"remote_clientid bridge-{self.name}",
                 "bridge_protocol_version mqttv311", "try_private true", "cleansession true", "local_cleansession false",
                 f"restart_timeout {self.restart_timeout}", "keepalive_interval 5", "start_type automatic"]  # fmt: skip
        lines += [f"topic {topic}" for topic in self.topics]
        return lines + list(self.extra)


class MosquittoBroker:
    """Runs ``mosquitto -c <conf>``; ``restart()`` keeps the same port(s).

    ``users``: username -> password (anonymous refused when given).
    ``tls``: adds a TLS listener (``tls_port``) with a server cert for localhost/127.0.0.1;
    ``require_client_cert`` makes that listener demand a client cert signed by the CA.
    ``acl``: text of a Mosquitto ACL file.
    ``bridges``: :class:`Bridge` connections this broker opens to other brokers.
    ``log_subscriptions``: log every SUBSCRIBE (read back with :meth:`subscriptions`).
    ``dynsec_admin``: (user, password) of the admin of Mosquitto's dynamic-security plugin,
    which then decides who may do what (``mosquitto_ctrl … dynsec`` creates clients and roles).
    """

    def __init__(
        self,
        users: dict[str, str] | None = None,
        tls: bool = False,
        acl: str | None = None,
        require_client_cert: bool = False,
        startup_timeout: float = 10.0,
        bridges: list[Bridge] | None = None,
        log_subscriptions: bool = False,
        dynsec_admin: tuple[str, str] | None = None,
    ) -> None:
        self.dynsec_admin = dynsec_admin
        self.bridges = list(bridges or [])
        self.log_subscriptions = log_subscriptions
        self.users = dict(users) if users else None
        self.tls = tls or require_client_cert
        self.acl = acl
        self.require_client_cert = require_client_cert
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.tls_port: int | None = free_port() if self.tls else None
        self.host = LOOPBACK
        self.workdir = Path(tempfile.mkdtemp(prefix="camwatch-mosquitto-"))
        self.workdir.chmod(0o755)  # mosquitto drops root privileges to user "mosquitto"
        self.log_path = self.workdir / "mosquitto.log"
        self.conf_path = self.workdir / "mosquitto.conf"
        self.pki: TestPki | None = make_test_pki(self.workdir / "pki") if self.tls else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    # ---------------------------------------------------------------- files
    @property
    def ca_path(self) -> Path:
        return self._pki().ca.cert

    @property
    def client_cert(self) -> Path:
        return self._pki().client.cert

    @property
    def client_key(self) -> Path:
        return self._pki().client.key

    @property
    def untrusted_ca_path(self) -> Path:
        return self._pki().untrusted_ca.cert

    @property
    def untrusted_client_cert(self) -> Path:
        return self._pki().untrusted_client.cert

    @property
    def untrusted_client_key(self) -> Path:
        return self._pki().untrusted_client.key

    def _pki(self) -> TestPki:
        if self.pki is None:
            raise RuntimeError("this broker was created without tls=True")
        return self.pki

    def _write_config(self) -> None:
        lines = ["per_listener_settings false", "persistence false", "log_dest stderr"]
        lines += ["log_type error", "log_type warning", "log_type notice", "log_type information"]
        if self.log_subscriptions:
            lines.append("log_type subscribe")
        if self.users:
            passwd = self.workdir / "passwd"
            for index, (user, password) in enumerate(self.users.items()):
                create = ["-c"] if index == 0 else []
                subprocess.run(
                    [MOSQUITTO_PASSWD, *create, "-b", str(passwd), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            acl_file = self.workdir / "acl"
            acl_file.write_text(self.acl)
            lines.append(f"acl_file {acl_file}")
        lines.append(f"listener {self.port} {LOOPBACK}")
        if self.pki is not None:
            lines += [
                f"listener {self.tls_port} {LOOPBACK}",
                f"cafile {self.pki.ca.cert}",
                f"certfile {self.pki.server.cert}",
                f"keyfile {self.pki.server.key}",
                f"require_certificate {'true' if self.require_client_cert else 'false'}",
            ]
        for bridge in self.bridges:
            lines += bridge.lines()
        if self.dynsec_admin is not None:
            plugin = dynsec_plugin()
            if plugin is None:
                raise RuntimeError("Mosquitto's dynamic-security plugin is not installed")
            dynsec = self.workdir / "dynamic-security.json"
            subprocess.run([MOSQUITTO_CTRL, "dynsec", "init", str(dynsec), *self.dynsec_admin],
                           check=True, capture_output=True)  # fmt: skip
            lines += [f"plugin {plugin}", f"plugin_opt_config_file {dynsec}"]
        self.conf_path.write_text("\n".join(lines) + "\n")
        self._give_to_mosquitto_user()

    def _give_to_mosquitto_user(self) -> None:
        if os.geteuid() != 0:
            return  # mosquitto keeps our user: nothing to hand over
        try:
            entry = pwd.getpwnam("mosquitto")
        except KeyError:
            return  # no such user: mosquitto stays root
        for path in [self.workdir, *self.workdir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
            path.chmod(0o750 if path.is_dir() else 0o640)

    # -------------------------------------------------------------- process
    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> MosquittoBroker:
        if self.running:
            return self
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [str(MOSQUITTO), "-c", str(self.conf_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.wait_ready()
        _LOGGER.info("mosquitto pid %s on port %s (tls %s)", self.pid, self.port, self.tls_port)
        return self

    def wait_ready(self, timeout: float | None = None) -> None:
        timeout = self.startup_timeout if timeout is None else timeout
        for port in (self.port, self.tls_port):
            if port is not None:
                wait_for_port(port, self._proc, timeout, "mosquitto", self.log_path)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM and wait (SIGKILL if it does not exit)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without a goodbye."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def restart(self) -> MosquittoBroker:
        self.stop()
        return self.start()

    def subscriptions(self) -> list[tuple[str, str]]:
        """(client id, topic filter) of every SUBSCRIBE so far (needs ``log_subscriptions``)."""
        found = []
        for line in self.log_text().splitlines():
            match = _SUBSCRIBE_LINE.match(line)
            if match:
                found.append((match.group(1), match.group(3)))
        return found

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> MosquittoBroker:
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
            self.kill()
