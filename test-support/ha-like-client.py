"""An MQTT 5 client that connects the way Home Assistant's MQTT integration does, with the library it uses (paho-mqtt).

e2e/mqtt5-clients.test.ts runs it against mqlive's broker. Clean start, a session expiry, a retained 'offline' will
on an availability topic; once connected it publishes retained discovery configs and 'online', subscribes with
subscription options once the configs are acknowledged, and once subscribed publishes a state of its own (on a
no-local subscription: it must not come back). Each event is one JSON line on stdout ({"event": ...}); the test
reads those, never wording. It runs until killed (the test
sends SIGKILL, to see the will) or --max-seconds pass.

Works with paho-mqtt 1.6 (Debian's python3-paho-mqtt) and 2.x (callback API version 2, whose callbacks take the
same arguments for MQTT 5, except on_publish, which gains two).
"""

import argparse
import json
import os
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def code(reason):
    """A reason code as a number (paho 1.6 ReasonCodes, 2.x ReasonCode, or a plain int)."""
    return getattr(reason, "value", reason)


def props(properties):
    return properties.json() if properties is not None else {}


def session_present(flags):
    """paho 1.6 passes a dict, 2.x a ConnectFlags."""
    return bool(flags.get("session present") if isinstance(flags, dict) else flags.session_present)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--node", required=True, help="the discovery node id: homeassistant/sensor/NODE/...")
    parser.add_argument("--availability", required=True, help="the availability topic: 'online', and 'offline' as the will")
    parser.add_argument("--max-seconds", type=float, default=60)
    args = parser.parse_args()

    base = f"homeassistant/sensor/{args.node}"
    config_topics = [f"{base}/temperature/config", f"{base}/humidity/config"]
    state_topic = f"{base}/state"

    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=mqtt.MQTTv5)
    else:
        client = mqtt.Client(client_id=args.client_id, protocol=mqtt.MQTTv5)
    if args.username is not None:
        client.username_pw_set(args.username, args.password)
    client.will_set(args.availability, "offline", qos=1, retain=True)

    topics_by_mid = {}
    subscriptions = {}
    configs_unacknowledged = set()

    def publish(topic, payload, retain):
        info = client.publish(topic, payload, qos=1, retain=retain)
        topics_by_mid[info.mid] = topic
        emit("publishing", topic=topic, mid=info.mid)
        return info.mid

    def subscribe():
        # Its own configs come back (retained); a state from anyone else does, its own must not (no local).
        subscriptions[client.subscribe(f"{base}/+/config", options=SubscribeOptions(qos=1))[1]] = "configs"
        subscriptions[client.subscribe(state_topic, options=SubscribeOptions(qos=1, noLocal=True))[1]] = "states"

    def on_connect(client, userdata, flags, reason, properties):
        emit("connected", reasonCode=code(reason), sessionPresent=session_present(flags), properties=props(properties))
        if code(reason) != 0:
            return
        for i, topic in enumerate(config_topics):
            config = {"name": topic.split("/")[-2], "state_topic": state_topic, "availability_topic": args.availability, "unique_id": f"{args.node}_{i}"}
            configs_unacknowledged.add(publish(topic, json.dumps(config), retain=True))
        publish(args.availability, "online", retain=True)

    def on_subscribe(client, userdata, mid, reasons, properties):
        emit("subscribed", to=subscriptions.get(mid), reasonCodes=[code(r) for r in reasons])
        if subscriptions.get(mid) == "states":
            publish(state_topic, json.dumps({"from": "ha-like"}), retain=False)

    def on_publish(client, userdata, mid, *more):  # 2.x adds reason_code and properties
        emit("published", topic=topics_by_mid.get(mid), mid=mid)
        # Subscribed once the configs are stored: sent before, a pipelined SUBSCRIBE may overtake them at the broker.
        if mid in configs_unacknowledged:
            configs_unacknowledged.discard(mid)
            if not configs_unacknowledged:
                subscribe()

    def on_message(client, userdata, message):
        emit("message", topic=message.topic, payload=message.payload.decode("utf-8", "replace"), qos=message.qos, retain=bool(message.retain), properties=props(getattr(message, "properties", None)))

    def on_disconnect(client, userdata, *more):  # the arguments differ between 1.6 and 2.x: only the event counts
        emit("disconnected")

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_publish = on_publish
    client.on_message = on_message
    client.on_disconnect = on_disconnect

    connect_properties = Properties(PacketTypes.CONNECT)
    connect_properties.SessionExpiryInterval = 300
    if os.environ.get("HA_LIKE_DEBUG"):  # paho's own packet log, on stderr, for a person debugging a run
        import logging; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr); client.enable_logger()
    client.connect(args.host, args.port, keepalive=60, clean_start=True, properties=connect_properties)
    client.loop_start()
    time.sleep(args.max_seconds)
    emit("gave_up", seconds=args.max_seconds)
    os._exit(3)


if __name__ == "__main__":
    sys.exit(main())
