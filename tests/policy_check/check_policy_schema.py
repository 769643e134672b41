"""Validates policy files against scenarios/policies/policy.schema.json.

Usage: check_policy_schema.py SCHEMA FILE...  Exit 0 when every file is valid
and deliberately broken ones are refused, 1 otherwise (listing why).
"""
import copy
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
validator_class = jsonschema.validators.validator_for(schema)
validator_class.check_schema(schema)
validator = validator_class(schema)
failed = False
first = None
for path in sys.argv[2:]:
    doc = json.load(open(path))
    first = first or doc
    for error in validator.iter_errors(doc):
        print(f"{path}: {error.json_path}: {error.message[:200]}")
        failed = True
if first is None:
    print("no policy files given")
    sys.exit(1)
# What faultline refuses, the schema refuses too.
broken = {
    "an agent's retry budget": lambda p: p.setdefault("agents", {}).setdefault("ocr", {}).update(
        {"retry": {"max_attempts": 2, "budget": {"ratio": 0.2}}}),
    "an unknown member": lambda p: p.update({"retries": 3}),
    "a retry without max_attempts": lambda p: p.setdefault("services", {}).update(
        {"ledger": {"retry": {"base_delay": "1s"}}}),
    "an unknown service": lambda p: p.setdefault("services", {}).update({"mainframe": {}}),
}
for what, breaks in broken.items():
    doc = copy.deepcopy(first)
    breaks(doc)
    if validator.is_valid(doc):
        print(f"the schema accepted {what}")
        failed = True
sys.exit(1 if failed else 0)
