"""Extracts the schemas Rookery's objects are checked against from Discord's
OpenAPI description (github.com/discord/discord-api-spec, MIT licence), with
every schema they refer to, into discord-schemas.json.

Run by hand when updating (CI never downloads it):
    python3 compat/openapi/extract.py path/to/discord-api-spec
"""

import json
import subprocess
import sys
from pathlib import Path

# The objects of issue 17's shape check, by Discord's schema names.
ROOTS = [
    "UserResponse",
    "MessageResponse",
    "GuildChannelResponse",
    "PrivateChannelResponse",
    "GuildResponse",
    "GuildRoleResponse",
    "GuildMemberResponse",
    "GuildInviteResponse",
    "GuildIncomingWebhookResponse",
]


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def main(checkout):
    spec_path = Path(checkout) / "specs" / "openapi.json"
    spec = json.loads(spec_path.read_text())
    commit = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    schemas = spec["components"]["schemas"]
    wanted, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted[name] = schemas[name]
        todo.extend(refs(schemas[name]))
    out = {
        "source": "https://github.com/discord/discord-api-spec specs/openapi.json (MIT licence)",
        "commit": commit,
        "openapi_version": spec["info"]["version"],
        "roots": ROOTS,
        "components": {"schemas": dict(sorted(wanted.items()))},
    }
    target = Path(__file__).with_name("discord-schemas.json")
    target.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    print(f"{len(wanted)} schemas from {commit or 'an unknown commit'} into {target}")


if __name__ == "__main__":
    main(sys.argv[1])
