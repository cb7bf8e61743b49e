"""`camwatch fleet status` reads everything the broker holds, and says when it may not read it.

Real Mosquitto with a password file and an ACL: a few hundred nodes' retained statuses are
all listed, every time; a user the ACL does not let read the fleet's topics gets one clear
line instead of an empty fleet (brokers that check subscriptions, as Mosquitto's
dynamic-security plugin, EMQX and HiveMQ do, refuse them in their SUBACK; Mosquitto's
acl_file grants every subscription and only holds back the messages).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from camwatch.cli import main
from camwatch.config.mqtt import MqttConfig
from camwatch.fleet.reader import read_fleet
from tests.mqtt_support import Subscriber, require_mosquitto
from tests.support.mosquitto import MOSQUITTO_CTRL, MosquittoBroker, dynsec_plugin

PASSWORD = "reader-pw-1"
NODES = 400
ACL = """user owner
topic readwrite #

user watcher
topic read camwatch/#

user nosy
topic read elsewhere/#
"""


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    require_mosquitto()
    users = {"owner": PASSWORD, "watcher": PASSWORD, "nosy": PASSWORD}
    with MosquittoBroker(users=users, acl=ACL) as running:
        owner = Subscriber(running.port, ["camwatch/+/status"], auth=("owner", PASSWORD))
        now = time.time()
        for index in range(NODES):
            name = f"gate-{index:03d}"
            status = {"node": name, "time": now, "interval": 3600}
            owner.publish(f"camwatch/{name}/status", json.dumps(status).encode(), retain=True)
        owner.wait_for(lambda: len({m.topic for m in owner.messages}) >= NODES, what=f"{NODES} statuses back")
        owner.close()
        yield running


def _config(broker: MosquittoBroker, user: str, protocol: str = "3.1.1", password: str = PASSWORD) -> MqttConfig:
    return MqttConfig.model_validate({"enabled": True, "host": "127.0.0.1", "port": broker.port, "username": user,
                                      "password": password, "protocol": protocol})  # fmt: skip


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_every_retained_node_is_listed_every_time(broker: MosquittoBroker, protocol: str) -> None:
    for _ in range(3):
        nodes = read_fleet(_config(broker, "watcher", protocol))
        assert len(nodes) == NODES and nodes.ignored == 0
        assert nodes["gate-000"].status["node"] == "gate-000"


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_user_the_broker_does_not_let_read_is_told(
    protocol: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_mosquitto()
    if dynsec_plugin() is None:
        pytest.skip("Mosquitto's dynamic-security plugin is not installed")
    admin = ("admin", "admin-pw-1")
    with MosquittoBroker(dynsec_admin=admin) as broker:
        ctrl = [MOSQUITTO_CTRL, "-h", "127.0.0.1", "-p", str(broker.port), "-u", admin[0], "-P", admin[1], "dynsec"]
        subprocess.run([*ctrl, "createClient", "nosy", "-p", PASSWORD], check=True, capture_output=True, timeout=30)
        with pytest.raises(ConnectionError) as refused:
            read_fleet(_config(broker, "nosy", protocol), timeout=10)
        assert str(refused.value) == (
            f"the MQTT broker mqtt://127.0.0.1:{broker.port} refused to let this user read camwatch/#: "
            "give it read access in the broker's ACL"
        )
        config = tmp_path / "config.yml"
        config.write_text(yaml.safe_dump({"mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port,
                                                   "username": "nosy", "password": PASSWORD, "protocol": protocol}}))
        capsys.readouterr()
        assert main(["fleet", "status", "--config", str(config)]) == 1
        err = capsys.readouterr().err
        assert err == f"error: {refused.value}\n" and PASSWORD not in err
        # the admin role may subscribe to everything: an empty fleet, and no refusal
        assert read_fleet(_config(broker, admin[0], protocol, admin[1]), timeout=10) == {}
