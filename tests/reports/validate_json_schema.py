# Validates a JSON document against a JSON Schema (draft-07) with Debian's
# python3-jsonschema; prints each violation with its path, exits 1 on any.
import json
import sys

import jsonschema

schema_file, document_file = sys.argv[1], sys.argv[2]
with open(schema_file, encoding="utf-8") as f:
    schema = json.load(f)
with open(document_file, encoding="utf-8") as f:
    document = json.load(f)
jsonschema.Draft7Validator.check_schema(schema)
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
for error in errors[:20]:
    print("/".join(str(p) for p in error.absolute_path), ":", error.message)
sys.exit(1 if errors else 0)
