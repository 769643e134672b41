#!/usr/bin/python3
"""A validation agent for faultline's reference pipeline, written against the
wire protocol (protocol/README.md) with nothing but Debian's python3-redis.

The harness starts it in place of `faultline-agent --role validation` when a
scenario or the command line says so (README, "Test your own agent"), and
hands it everything through the environment:

  FAULTLINE_REDIS_URL        redis://host:port
  FAULTLINE_POSTGRES_URL     postgresql://user@host:port/database (this agent needs none)
  FAULTLINE_ROLE             validation
  FAULTLINE_STREAM           the role's request stream (<prefix>validation)
  FAULTLINE_GROUP            the consumer group to read it in (the role)
  FAULTLINE_CONSUMER         this worker's consumer name, stable across restarts
  FAULTLINE_REPLY_STREAM     where replies go (<prefix>replies)
  FAULTLINE_EPOCH_KEY        the key holding the deployment's wire epoch (microseconds)
  FAULTLINE_PREFIX           the deployment's Redis key prefix (faultline:)
  FAULTLINE_TIME_SCALE       scenario seconds per real second
  FAULTLINE_CLAIM_IDLE_MS    after how long (real ms) a dead worker's entries may be claimed
  FAULTLINE_DELIVERY_LIMIT   deliveries after which an entry goes to <stream>:dead
  FAULTLINE_PROTOCOL_VERSION the version the harness speaks

Once it works it prints "<consumer> ready protocol 1" (the harness waits for
that line). `faultline check-agent validation -- /usr/bin/python3
examples/agents/validation_agent.py` runs the conformance battery on it.

The loop is the protocol's: take back what this consumer held, then read,
decode, drop what is past its deadline, reply, and only then acknowledge.
Validation has no side effect, so a redelivered request is simply answered
again and an undo is answered "ok" at once. SIGTERM stops it between
messages; what it had read and not answered stays pending for the next
worker of the same name.
"""
import base64
import json
import os
import re
import signal
import sys
import time

import redis

PROTOCOL_VERSION = 1
FIELDS = ("v", "kind", "topic", "invoice_id", "request_id", "step", "attempt", "deadline", "body")
CANONICAL = re.compile(r"^(0|[1-9][0-9]*)$")
CURRENCIES = (b"EUR", b"USD", b"GBP", b"CHF")
MAX_TOTAL_CENTS = 1_000_000_000

# Problem bits (reference_system/invoice.h).
MISSING_ID, MISSING_CURRENCY, MISSING_TOTAL, MISSING_PO = 2, 8, 16, 512
ID_MISMATCH, BAD_CURRENCY, TOTAL_MISMATCH, NON_POSITIVE, TOO_LARGE = 1024, 2048, 4096, 8192, 16384

# Copies an entry to the dead stream and acks it, only while it is still
# pending (protocol/README.md, step 2).
BURY = """
if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class Refused(Exception):
    """An entry that is not a request this agent can read."""


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"validation_agent: {name} is not set")
    return value


def text(member):
    """A text member: a JSON string, or {"base64": ...} for bytes that are not UTF-8."""
    if isinstance(member, str):
        return member.encode("utf-8")
    if isinstance(member, dict) and isinstance(member.get("base64"), str):
        return base64.b64decode(member["base64"])
    raise Refused("a text member is neither a string nor {\"base64\": ...}")


def integer(member, what):
    if isinstance(member, bool) or not isinstance(member, int):
        raise Refused(f"{what} is not an integer")
    return member


def validate(fields, invoice_id):
    """The problem bits of an extraction: 0 means valid (reference_system/invoice.cpp, validate)."""
    problems = integer(fields.get("problems", 0), "problems") & ~MISSING_PO
    if not problems & MISSING_ID and integer(fields.get("id"), "id") != invoice_id:
        problems |= ID_MISMATCH
    if not problems & MISSING_CURRENCY and text(fields.get("currency", "")) not in CURRENCIES:
        problems |= BAD_CURRENCY
    total = integer(fields.get("total_cents"), "total_cents")
    if not problems & MISSING_TOTAL:
        if total <= 0:
            problems |= NON_POSITIVE
        if total > MAX_TOTAL_CENTS:
            problems |= TOO_LARGE
    line_sum = 0
    for line in fields.get("lines", []):
        quantity = integer(line.get("quantity"), "quantity")
        price = integer(line.get("unit_price_cents"), "unit_price_cents")
        if quantity <= 0 or price <= 0:
            problems |= NON_POSITIVE
        elif price > MAX_TOTAL_CENTS or quantity > 1_000_000:
            problems |= TOO_LARGE
        else:
            line_sum += quantity * price
    if problems == 0 and line_sum != total:
        problems |= TOTAL_MISMATCH
    return problems


def decode(entry, topic):
    """The entry's fields as a dict, or Refused saying what is wrong."""
    fields = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in entry.items()}
    if "v" not in fields:
        raise Refused('wire: field "v": missing')
    if fields["v"] != str(PROTOCOL_VERSION):
        raise Refused(f'wire: field "v": the message speaks protocol version {fields["v"]}; '
                      f"this process speaks version {PROTOCOL_VERSION}")
    unknown = sorted(set(fields) - set(FIELDS))
    missing = [f for f in FIELDS if f not in fields]
    if unknown or missing:
        raise Refused(f"wire: unknown fields {unknown}, missing fields {missing}")
    if fields["kind"] not in ("request", "undo"):
        raise Refused(f'wire: field "kind": {fields["kind"]!r} is not a request')
    if fields["topic"] != topic:
        raise Refused(f'wire: field "topic": {fields["topic"]!r} on the {topic} stream')
    for name in ("invoice_id", "request_id", "step", "attempt"):
        if not CANONICAL.match(fields[name]):
            raise Refused(f'wire: field "{name}": {fields[name]!r} is not a canonical integer')
    if fields["deadline"] != "none" and not re.match(r"^(0|-?[1-9][0-9]*)$", fields["deadline"]):
        raise Refused(f'wire: field "deadline": {fields["deadline"]!r}')
    try:
        body = json.loads(fields["body"])
    except ValueError as e:
        raise Refused(f'wire: field "body": not JSON: {e}')
    if not isinstance(body, dict):
        raise Refused('wire: field "body": not an object')
    fields["body"] = body
    return fields


class Agent:
    def __init__(self):
        self.r = redis.Redis.from_url(env("FAULTLINE_REDIS_URL"))
        self.stream = env("FAULTLINE_STREAM")
        self.group = env("FAULTLINE_GROUP")
        self.consumer = env("FAULTLINE_CONSUMER")
        self.replies = env("FAULTLINE_REPLY_STREAM")
        self.epoch_key = env("FAULTLINE_EPOCH_KEY")
        self.topic = env("FAULTLINE_ROLE")
        self.time_scale = float(env("FAULTLINE_TIME_SCALE", "1"))
        self.claim_idle_ms = int(env("FAULTLINE_CLAIM_IDLE_MS", "30000"))
        self.delivery_limit = int(env("FAULTLINE_DELIVERY_LIMIT", "10"))
        self.bury = self.r.register_script(BURY)
        self.stopping = False
        self.epoch_us = None
        self.skew_us = 0  # Redis's clock minus ours

    def wire_now(self):
        """Scenario nanoseconds since the deployment's epoch, as deadlines count them."""
        if self.epoch_us is None:
            seconds, micros = self.r.time()
            now_us = seconds * 1_000_000 + micros
            self.skew_us = now_us - int(time.time() * 1e6)
            self.r.set(self.epoch_key, now_us, nx=True)
            self.epoch_us = int(self.r.get(self.epoch_key))
        now_us = int(time.time() * 1e6) + self.skew_us
        return (now_us - self.epoch_us) * 1000 * self.time_scale

    def start(self):
        try:
            self.r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
        self.wire_now()
        self.take_back(self.consumer, min_idle_ms=0)

    def take_back(self, owner, min_idle_ms):
        """Claims entries pending with `owner` (or with anyone, idle that long)."""
        pending = self.r.xpending_range(self.stream, self.group, "-", "+", 100,
                                        consumername=owner, idle=min_idle_ms or None)
        ids = [p["message_id"] for p in pending]
        if not ids:
            return
        for entry_id, entry in self.r.xclaim(self.stream, self.group, self.consumer, min_idle_ms, ids):
            deliveries = next(p["times_delivered"] for p in pending if p["message_id"] == entry_id)
            self.handle(entry_id, entry, deliveries)

    def to_dead(self, entry_id, entry, deliveries, refusal):
        pairs = [b"refusal", refusal.encode(), b"entry_id", entry_id, b"deliveries", str(deliveries).encode()]
        for k, v in list(entry.items())[:64]:
            pairs += [k, v]
        self.bury(keys=[self.stream, self.stream + ":dead"], args=[self.group, entry_id, 10000] + pairs)

    def handle(self, entry_id, entry, deliveries):
        if not entry:  # trimmed meanwhile: nothing to do
            self.r.xack(self.stream, self.group, entry_id)
            return
        if deliveries > self.delivery_limit:
            self.to_dead(entry_id, entry, deliveries, f"delivered {deliveries} times, beyond the limit of "
                                                      f"{self.delivery_limit}")
            return
        try:
            request = decode(entry, self.topic)
            deadline = request["deadline"]
            if deadline != "none" and int(deadline) < self.wire_now():
                self.r.xack(self.stream, self.group, entry_id)  # nobody waits for this reply
                return
            reply = {"status": "ok"}
            if request["kind"] == "request":
                extraction = request["body"].get("extraction")
                if not isinstance(extraction, dict) or not isinstance(extraction.get("fields"), dict):
                    raise Refused('wire: field "body": a validation request without extraction.fields')
                problems = validate(extraction["fields"], int(request["invoice_id"]))
                if problems:
                    reply = {"status": "rejected", "problems": problems}
        except Refused as e:
            self.to_dead(entry_id, entry, deliveries, str(e))
            return
        self.answer(entry_id, request, reply)

    def answer(self, entry_id, request, body):
        """Replies, and only then acknowledges: a crash between the two repeats the reply, never loses it."""
        self.reply(request, body)
        self.r.xack(self.stream, self.group, entry_id)

    def reply(self, request, body):
        self.r.xadd(self.replies, {
            "v": str(PROTOCOL_VERSION), "kind": "reply", "topic": "replies",
            "invoice_id": request["invoice_id"], "request_id": request["request_id"],
            "step": request["step"], "attempt": request["attempt"], "deadline": "none",
            "body": json.dumps(body, separators=(",", ":")),
        })

    def run(self):
        last_claim = 0.0
        claim_every = max(0.01, min(1.0, self.claim_idle_ms / 4000))
        while not self.stopping:
            try:
                for _, entries in self.r.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                    count=1, block=200) or []:
                    for entry_id, entry in entries:
                        self.handle(entry_id, entry, 1)
                if time.monotonic() - last_claim >= claim_every:
                    last_claim = time.monotonic()
                    self.take_back(None, self.claim_idle_ms)
            except redis.ConnectionError:
                time.sleep(0.2)  # Redis restarting: what we held stays pending
            except redis.ResponseError as e:
                if "NOGROUP" not in str(e):
                    raise
                self.start()


def main(agent_class=Agent):
    agent = agent_class()

    def stop(signum, frame):
        agent.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            agent.start()
            break
        except redis.ConnectionError:
            time.sleep(0.2)
    print(f"{agent.consumer} ready protocol {PROTOCOL_VERSION}", flush=True)
    agent.run()


if __name__ == "__main__":
    main()
