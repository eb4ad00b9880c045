#!/usr/bin/env python3
"""The analytics contract, checked from outside Rookery: reads records from a
Kafka topic with an independent client (confluent-kafka), decodes them with
msgpack, and checks each against kafka/events.schema.json (docs/events.md)
and the documented key (8 bytes big-endian: the user id for USER_CREATE, the
guild id for guild events, the channel id for message events and for every
event of a DM or group DM, except a DM's opening: the lower of its users).

    check_events.py BOOTSTRAP TOPIC COUNT

Prints {"checked": N, "types": {...}} and exits 0, or prints each problem
and exits 1. Needs: pip install confluent-kafka msgpack jsonschema
"""
import json
import pathlib
import sys
import time

import jsonschema
import msgpack
from confluent_kafka import Consumer

SCHEMA = json.loads((pathlib.Path(__file__).parent / "events.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def documented_key(event):
    t, d = event["t"], event["d"]
    if t == "USER_CREATE":
        return d["id"]
    if t == "GUILD_CREATE":
        return d["guild"]["id"]
    if t == "GUILD_UPDATE":
        return d["id"]
    if t == "CHANNEL_CREATE" and d["type"] == 1:
        # A DM's opening: the lower of its two users.
        return min(r["id"] for r in d["recipients"])
    if t in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE"):
        # A group DM has no guild: it is keyed by itself.
        return d.get("guild_id", d["id"])
    if t in ("GUILD_DELETE", "INVITE_CREATE", "INVITE_DELETE",
             "GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE",
             "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE",
             "GUILD_BAN_ADD", "GUILD_BAN_REMOVE"):
        return d["guild_id"]
    if t in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK",
             "CHANNEL_PINS_UPDATE", "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE",
             "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI",
             "MESSAGE_ACK", "TYPING_START", "CHANNEL_RECIPIENT_ADD", "CHANNEL_RECIPIENT_REMOVE"):
        return d["channel_id"]
    if t == "PRESENCE_UPDATE":
        return d["user_id"]
    return None  # a type this reader does not know: ignored, as documented


def check(key, value):
    problems = []
    try:
        envelope = msgpack.unpackb(value, raw=False, strict_map_key=False)
    except Exception as e:  # noqa: BLE001 - any decode failure is the finding
        return None, [f"not MessagePack: {e}"]
    problems += [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                 for e in VALIDATOR.iter_errors(envelope)]
    if problems:
        return envelope, problems
    want = documented_key(envelope["event"])
    if key is None or len(key) != 8:
        problems.append(f"key is not 8 bytes: {key!r}")
    elif want is not None and int.from_bytes(key, "big") != want:
        problems.append(f"key {int.from_bytes(key, 'big')} is not the documented {want}")
    return envelope, problems


def main(bootstrap, topic, count):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"contract-check-{time.time_ns()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    types, problems, seen, ids = {}, [], 0, set()
    deadline = time.time() + 60
    while seen < count and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            problems.append(f"consume error: {msg.error()}")
            break
        seen += 1
        envelope, found = check(msg.key(), msg.value())
        where = f"partition {msg.partition()} offset {msg.offset()}"
        problems += [f"{where}: {p}" for p in found]
        if envelope and not found:
            ids.add(envelope["id"])
            t = envelope["event"]["t"]
            types[t] = types.get(t, 0) + 1
    consumer.close()
    if seen < count:
        problems.append(f"only {seen} of {count} records arrived")
    if problems:
        print("\n".join(problems))
        return 1
    print(json.dumps({"checked": seen, "distinct_ids": len(ids), "types": types}, sort_keys=True))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
