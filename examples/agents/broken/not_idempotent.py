#!/usr/bin/python3
"""A broken validation agent, kept as a test fixture: the example
(../validation_agent.py) that keeps a register of the invoices it has seen,
in Redis, and rejects an invoice it has seen before as a duplicate. A
redelivered request (same request_id) then gets another result than the
first delivery: `faultline check-agent` fails it on redelivery, naming both
statuses."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import validation_agent  # noqa: E402

DUPLICATE = 1 << 20  # this agent's own problem bit; the reference has none for it


class NotIdempotent(validation_agent.Agent):
    def answer(self, entry_id, request, body):
        seen = os.environ.get("FAULTLINE_PREFIX", "faultline:") + "seen_invoices"
        if request["kind"] == "request" and body["status"] == "ok" and not self.r.sadd(seen, request["invoice_id"]):
            body = {"status": "rejected", "problems": DUPLICATE}  # wrong: a redelivery is not a duplicate invoice
        super().answer(entry_id, request, body)


if __name__ == "__main__":
    validation_agent.main(NotIdempotent)
