"""Validates wire-protocol stream entries against protocol/*.schema.json.

Usage: check_wire_schema.py PROTOCOL_DIR FILE...  Each FILE holds a JSON
array of stream entries, each an object of field name -> value (strings,
as XADD writes them). An entry is checked against request.schema.json or
reply.schema.json by its "kind", and its body, parsed, against that
schema's $defs/body (JSON Schema's contentSchema is an annotation only, so
a validator does not check it by itself). Prints one line per violation,
"FILE[i] entry|body: PATH: message", and "N entries valid" when there are
none. Exit 0 when every entry is valid, 1 otherwise.
"""
import json
import os
import sys

import jsonschema


def load_validators(protocol_dir):
    validators = {}
    for kind in ("request", "reply"):
        with open(os.path.join(protocol_dir, kind + ".schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        body = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/body"}
        validators[kind] = (cls(schema), cls(body))
    return validators


def where(error):
    return "/".join(str(p) for p in error.absolute_path) or "$"


def main():
    validators = load_validators(sys.argv[1])
    failed = False
    count = 0
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
        for i, entry in enumerate(entries):
            count += 1
            kind = entry.get("kind") if isinstance(entry, dict) else None
            entry_validator, body_validator = validators["reply" if kind == "reply" else "request"]
            for error in entry_validator.iter_errors(entry):
                print(f"{path}[{i}] entry: {where(error)}: {error.message[:200]}")
                failed = True
            body = entry.get("body") if isinstance(entry, dict) else None
            if not isinstance(body, str):
                continue
            try:
                parsed = json.loads(body)
            except ValueError as e:
                print(f"{path}[{i}] body: $: not JSON: {e}")
                failed = True
                continue
            for error in body_validator.iter_errors(parsed):
                print(f"{path}[{i}] body: {where(error)}: {error.message[:200]}")
                failed = True
    if not failed:
        print(f"{count} entries valid")
    sys.exit(1 if failed else 0)


main()
