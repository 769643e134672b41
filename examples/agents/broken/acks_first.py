#!/usr/bin/python3
"""A broken validation agent, kept as a test fixture: the example
(../validation_agent.py) with its answer acknowledging the entry before the
reply is written. A SIGKILL between the two loses the request: it is no
longer pending, and nobody ever answers it. `faultline check-agent` fails it
on crash_mid_message (the ack order its MONITOR of Redis sees)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import validation_agent  # noqa: E402


class AcksFirst(validation_agent.Agent):
    def answer(self, entry_id, request, body):
        self.r.xack(self.stream, self.group, entry_id)  # wrong: the request is gone from here on
        self.reply(request, body)


if __name__ == "__main__":
    validation_agent.main(AcksFirst)
