"""Validates Rookery's JSON objects against Discord's published schemas
(discord-schemas.json, extracted by extract.py).

Input: a JSON file `{schema name: [object, ...]}`. Prints every violation
as `schema #index path: message` and exits 1 if there is any; with none,
prints how many objects of each schema passed.
"""

import json
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

SCHEMAS = json.loads(Path(__file__).with_name("discord-schemas.json").read_text())


def validator(name):
    # A root whose `$ref` resolves in the same document, as in the spec.
    root = {"$ref": f"#/components/schemas/{name}", "components": SCHEMAS["components"]}
    return Draft202012Validator(root)


def main(path):
    instances = json.loads(Path(path).read_text())
    failures = []
    for name, objects in instances.items():
        check = validator(name)
        for i, obj in enumerate(objects):
            for error in check.iter_errors(obj):
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                failures.append(f"{name} #{i} {where}: {error.message[:300]}")
    for failure in failures:
        print(failure)
    if failures:
        return 1
    passed = ", ".join(f"{len(objs)} {name}" for name, objs in instances.items())
    print(f"discord schemas ({SCHEMAS['commit'][:12]}): {passed} valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
