"""The MQTT connection: authentication, TLS, last will, reconnect with backoff, clear errors.

Wraps a paho-mqtt 2.x client (``CallbackAPIVersion.VERSION2``) running its own network
thread. Connection problems are logged once per change (connected, refused for a reason,
unreachable for a reason), never per retry, and mirrored in ``RuntimeState.mqtt``. The
password never reaches a log line: it is registered with ``camwatch.secrets``.

Any client of the broker can publish what it likes where camwatch listens, so no callback
lets an exception out: paho re-raises one from a callback in its network thread, and that
thread would end — nothing received, nothing acknowledged, and nobody told. A message a
handler cannot take is logged (once a minute per topic and kind of error) and dropped. If
the network thread ends all the same, the connection says so (log, ``RuntimeState.mqtt``:
``connected`` false, ``error``, ``network_restarts``) and starts it again with backoff.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from camwatch import secrets
from camwatch.comms.log_limit import LogLimit
from camwatch.config.mqtt import MqttConfig
from camwatch.state import RuntimeState

_LOGGER = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes, bool], None]  # topic, payload, retained

#: Seconds between two log lines about messages of one topic and kind of error.
CALLBACK_LOG_QUIET = 60.0


class MqttConfigError(ValueError):
    """The MQTT settings cannot be used (e.g. an unreadable TLS file)."""


def describe_connect_error(exc: BaseException) -> str:
    """A readable reason for a failed TCP/TLS connect."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: broker certificate not trusted ({exc.verify_message or exc.reason}); check mqtt.ca_file"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed ({exc.reason or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running and listening on this port?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "connection timed out"
    return f"{type(exc).__name__}: {exc}"


def describe_refusal(reason: ReasonCode) -> str:
    text = str(reason)
    if reason.value in (4, 5, 134, 135):  # bad user name or password / not authorized
        return f"{text}: check mqtt.username and mqtt.password"
    return text


class _Client(mqtt.Client):
    """Remembers why the last connect attempt failed (paho only reports that it did), and
    reports the end of its network thread by an exception instead of printing a traceback."""

    last_connect_error: BaseException | None = None
    on_thread_died: Callable[[BaseException], None] | None = None

    def _thread_main(self) -> None:
        # paho 2.x runs loop_forever() here and clears its thread handle when it returns,
        # so loop_start() works again afterwards.
        try:
            super()._thread_main()
        except BaseException as exc:  # noqa: BLE001 - whatever ended the thread is reported, not printed
            if self.on_thread_died is not None:
                self.on_thread_died(exc)

    def reconnect(self) -> mqtt.MQTTErrorCode:
        try:
            result = super().reconnect()
        except OSError as exc:
            self.last_connect_error = exc
            raise
        self.last_connect_error = None
        return result


class MqttConnection:
    """One broker connection. ``on_connected`` runs (in paho's thread) after each CONNACK success."""

    def __init__(
        self,
        config: MqttConfig,
        client_id: str,
        will_topic: str | None,
        will_payload: str = "",
        state: RuntimeState | None = None,
        quiet: bool = False,
    ) -> None:
        self.config = config
        self.state = state
        self.quiet = quiet  # a helper connection: the main one already reports every problem
        self.connected = threading.Event()
        self.on_connected: Callable[[], None] | None = None
        self.on_disconnected: Callable[[], None] | None = None
        self.on_message: MessageHandler | None = None
        self.on_published: Callable[[int], None] | None = None
        self.on_subscribed: Callable[[bool], None] | None = None  # each SUBACK: all granted?
        self.last_error: str | None = None
        self.network_restarts = 0
        self._status: str | None = None
        self._started = False
        self._lifecycle = threading.Lock()  # start / stop / restart of the network thread
        self._halt = threading.Event()  # set by stop(): a pending restart gives up
        self._callback_log = LogLimit(CALLBACK_LOG_QUIET)
        self._client = self._build(client_id, will_topic, will_payload)

    # ------------------------------------------------------------- building
    def _build(self, client_id: str, will_topic: str | None, will_payload: str) -> _Client:
        cfg = self.config
        v5 = cfg.protocol == "5"
        client = _Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else True,
        )
        client.reconnect_delay_set(min_delay=max(1, round(cfg.reconnect_min)), max_delay=round(cfg.reconnect_max))
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(50)
        if cfg.username:
            password = cfg.password.get_secret_value() if cfg.password else None
            secrets.register(password)
            client.username_pw_set(cfg.username, password)
        if cfg.use_tls:
            self._setup_tls(client)
        if will_topic is not None:  # a short-lived reader (fleet status) needs none
            client.will_set(will_topic, will_payload, qos=1, retain=True)
        client.on_connect = self._total("connect", self._on_connect)
        client.on_connect_fail = self._total("connect_fail", self._on_connect_fail)
        client.on_disconnect = self._total("disconnect", self._on_disconnect)
        client.on_message = self._on_message
        client.on_publish = self._total("publish", self._on_publish)
        client.on_subscribe = self._total("subscribe", self._on_subscribe)
        client.on_thread_died = self._on_thread_died
        return client

    def _setup_tls(self, client: _Client) -> None:
        cfg = self.config
        for name, path in (("ca_file", cfg.ca_file), ("cert_file", cfg.cert_file), ("key_file", cfg.key_file)):
            if path is not None and not path.is_file():
                raise MqttConfigError(f"mqtt.{name}: {path} is not a readable file")
        key_password = cfg.key_password.get_secret_value() if cfg.key_password else None
        secrets.register(key_password)
        try:
            context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
            if cfg.cert_file is not None:
                context.load_cert_chain(str(cfg.cert_file), str(cfg.key_file), password=key_password)
        except (OSError, ssl.SSLError) as exc:
            raise MqttConfigError(f"mqtt TLS files cannot be used: {exc}") from None
        if cfg.tls_insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            _LOGGER.warning("MQTT TLS verification is OFF (mqtt.tls_insecure): the broker is not authenticated")
        client.tls_set_context(context)

    # ------------------------------------------------------------ lifecycle
    @property
    def where(self) -> str:
        scheme = "mqtts" if self.config.use_tls else "mqtt"
        return f"{scheme}://{self.config.host}:{self.config.port}"

    def start(self) -> None:
        """Connect in the background; retries forever with backoff until ``stop``."""
        self._set_state(connected=False, error=None)
        with self._lifecycle:
            self._halt.clear()
            self._client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive)
            self._client.loop_start()
            self._started = True

    def stop(self, timeout: float = 5.0) -> None:
        with self._lifecycle:
            if not self._started:
                return
            self._started = False
            self._halt.set()
        try:
            self._client.disconnect()
        except Exception as exc:  # already gone
            _LOGGER.debug("disconnect: %s", exc)
        self._client.loop_stop()
        self.connected.clear()
        self._set_state(connected=False)

    # ------------------------------------------------------------ messaging
    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> int | None:
        """Hand a message to paho; returns its mid, or None when it could not be queued."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            return None
        return info.mid

    def publish_wait(self, topic: str, payload: bytes | str, timeout: float, retain: bool = True) -> bool:
        """Publish QoS 1 and wait for the PUBACK (used for ``stopped`` on shutdown)."""
        if not self.connected.is_set():
            return False
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def unsubscribe(self, topics: list[str]) -> None:
        if topics:
            self._client.unsubscribe(topics)

    def subscribe(self, topics: list[str]) -> None:
        if not topics:
            return
        if self.config.protocol == "5":
            # Keep the retain flag on live messages too, so a retained command is seen as one
            # at once (MQTT 3.1.1 brokers clear it on live delivery).
            options = SubscribeOptions(qos=1, retainAsPublished=True)
            self._client.subscribe([(t, options) for t in topics])
        else:
            self._client.subscribe([(t, 1) for t in topics])

    # ------------------------------------------------------------ callbacks
    def _on_connect(self, _client: Any, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any) -> None:
        if reason.is_failure:
            self._report("refused", f"MQTT broker {self.where} refused the connection: {describe_refusal(reason)}")
            return
        # The owner's connect work first: a sender that saw ``connected`` before it would
        # publish, then treat what it just sent as left over from the last connection.
        if self.on_connected is not None:
            self.on_connected()
        self.connected.set()
        self._report("connected", f"MQTT connected to {self.where}", level=logging.INFO)

    def _on_connect_fail(self, _client: Any, _userdata: Any) -> None:
        exc = self._client.last_connect_error
        reason = describe_connect_error(exc) if exc is not None else "connection failed"
        self._report(f"unreachable:{reason}", f"MQTT broker {self.where} unreachable: {reason}")

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        if was_connected:
            if self._started:
                self._report("disconnected", f"MQTT connection to {self.where} lost ({reason}); reconnecting")
            else:
                self._report("stopped", f"MQTT disconnected from {self.where}", level=logging.INFO)
            if self.on_disconnected is not None:
                self.on_disconnected()
        elif self._started and self._status != "refused":
            # Closed before CONNACK: with TLS 1.3 a missing or untrusted client certificate
            # shows up here, after the client's side of the handshake already succeeded.
            hint = "; check mqtt.cert_file and mqtt.key_file" if self.config.use_tls else ""
            self._report(
                f"closed:{reason}",
                f"MQTT broker {self.where} closed the connection before accepting the login ({reason}){hint}",
            )

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        topic = "?"
        try:
            topic = message.topic
            if self.on_message is not None:
                self.on_message(topic, bytes(message.payload), bool(message.retain))
        except Exception as exc:  # a message nobody can take must not end the network thread
            self._callback_failed(f"a message on {topic[:200]!r}", exc)

    def _total(self, name: str, callback: Callable[..., None]) -> Callable[..., None]:
        """``callback`` that logs what it raises instead of handing it to paho."""

        def run(*args: Any) -> None:
            try:
                callback(*args)
            except Exception as exc:
                self._callback_failed(f"the {name} callback", exc)

        return run

    def _callback_failed(self, what: str, exc: Exception) -> None:
        if not self._callback_log.due((what, type(exc).__name__)):
            return
        detail = str(exc)[:200] if not isinstance(exc, RecursionError) else "nested too deeply"
        _LOGGER.warning("MQTT %s: ignored %s (%s: %s)", self.where, what, type(exc).__name__, secrets.redact(detail))

    def _on_thread_died(self, exc: BaseException) -> None:
        """paho's network thread ended by an exception (its last act): say so, start it again."""
        was_connected = self.connected.is_set()
        self.connected.clear()
        self.network_restarts += 1
        reason = f"{type(exc).__name__}: {str(exc)[:200]}" if str(exc) else type(exc).__name__
        message = f"MQTT network thread for {self.where} stopped ({secrets.redact(reason)}); reconnecting"
        self._status = None  # the next state change is logged again, whatever it is
        self._report("thread-died", message)
        if self.state is not None:
            self.state.mqtt.update(network_restarts=self.network_restarts,
                                   network_failure=f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {message}")  # fmt: skip
        if was_connected and self.on_disconnected is not None:
            self._total("disconnect", self.on_disconnected)()
        delay = min(self.config.reconnect_min * 2 ** min(self.network_restarts - 1, 10), self.config.reconnect_max)
        threading.Thread(target=self._restart, args=(delay,), name="mqtt-restart", daemon=True).start()

    def _restart(self, delay: float) -> None:
        if self._halt.wait(delay):
            return
        with self._lifecycle:
            if not self._started:
                return
            # A new connection: the old socket may hold half a packet the dead thread left.
            self._client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive)
            self._client.loop_start()

    def _on_subscribe(self, _client: Any, _userdata: Any, _mid: int, reasons: Any, _props: Any) -> None:
        if self.on_subscribed is not None:
            self.on_subscribed(not any(reason.is_failure for reason in reasons))

    def _on_publish(self, _client: Any, _userdata: Any, mid: int, _reason: Any, _props: Any) -> None:
        if self.on_published is not None:
            self.on_published(mid)

    # --------------------------------------------------------------- status
    def _report(self, status: str, message: str, level: int = logging.ERROR) -> None:
        """Log once per change of status; keep the latest in RuntimeState.mqtt."""
        connected = status == "connected"
        error = None if connected or status == "stopped" else message
        self.last_error = error
        self._set_state(connected=connected, error=error)
        if status != self._status:
            self._status = status
            _LOGGER.log(logging.DEBUG if self.quiet else level, "%s", secrets.redact(message))

    def _set_state(self, **changes: Any) -> None:
        if self.state is None:
            return
        self.state.mqtt.update({"enabled": True, "broker": self.where, **changes})
        if "error" in changes and changes["error"]:
            self.state.mqtt["error"] = secrets.redact(changes["error"])
