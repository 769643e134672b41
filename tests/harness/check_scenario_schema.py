"""Validates scenario files against scenarios/scenario.schema.json.

Usage: check_scenario_schema.py SCHEMA FILE...  Exit 0 when every file is
valid and a deliberately broken one is refused, 1 otherwise (listing why).
"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
validator_class = jsonschema.validators.validator_for(schema)
validator_class.check_schema(schema)
validator = validator_class(schema)
failed = False
for path in sys.argv[2:]:
    for error in validator.iter_errors(json.load(open(path))):
        print(f"{path}: {error.json_path}: {error.message[:200]}")
        failed = True
broken = {"name": "x", "duration": "5m", "workload": {"rate_per_hour": 1}, "policy": "p",
          "faults": [{"kind": "crash", "target": "ledger", "start": "0", "duration": "1m"}]}
if validator.is_valid(broken):
    print("the schema accepted a crash aimed at a service")
    failed = True
sys.exit(1 if failed else 0)
