#!/usr/bin/env bash
# The live pipeline's throughput (issue 17's "Figures"): one faultline-agent
# per role on a private Redis and PostgreSQL (faultline_live_servers), the
# fault-free baseline world at time scale 1000, N invoices submitted at
# once; invoices per second end to end (from the submission to the last
# terminal outcome in the stores), against redis-benchmark's XADD ceiling
# measured on the same Redis in the same run, and the Redis commands each
# invoice costs (INFO's total_commands_processed over the run, minus the
# status polls' none: status reads PostgreSQL only).
#
#   bench/live/live_pipeline_bench.sh [N=5000] [BUILD=build/release]
#
# The policy is docs/deploy/policy.json with every timeout, deadline and
# claim time raised (bench/live/README.md says why): at 1000x a 5 s service
# timeout is 5 ms of real time, below one PostgreSQL commit.
set -euo pipefail
N="${1:-5000}"
BUILD="${2:-build/release}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
WORK="$(mktemp -d /tmp/faultline-live-bench.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$BUILD/tests/support/faultline_live_servers" stop "$WORK/servers.env" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/tests/support/faultline_live_servers" start "$WORK/servers.env" --lifetime-s 1800 >/dev/null
redis="$(sed -n 's/^redis=//p' "$WORK/servers.env")"
postgres="$(sed -n 's/^postgres=//p' "$WORK/servers.env")"
port="${redis##*:}"

python3 - "$ROOT/docs/deploy/policy.json" "$WORK/policy.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["name"] = "live-bench"
p["workflow"]["deadline"] = "72h"
p["workflow"]["max_in_flight"] = 10000
for a in p["agents"].values():
    a["timeout"] = "24h"
for s in p["services"].values():
    s["timeout"] = "1h"
    cb = s.get("circuit_breaker")
    if cb and "probe_timeout" in cb:
        cb["probe_timeout"] = "1h"
p.setdefault("bus", {})["claim_idle"] = "1h"
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY

declare -A PID_OF
for role in ocr validation matching accounting archive orchestrator; do
  "$BUILD/cli/faultline-agent" --role "$role" --consumer "$role-0" --redis "$redis" --postgres "$postgres" \
      --policy "$WORK/policy.json" --world scenarios/models/baseline.json --time-scale 1000 --connections 8 \
      >"$WORK/$role.out" 2>"$WORK/$role.err" &
  PIDS+=($!)
  PID_OF[$role]=$!
done
for role in ocr validation matching accounting archive orchestrator; do
  for _ in $(seq 1 200); do grep -q ready "$WORK/$role.out" 2>/dev/null && break; sleep 0.05; done
  grep -q ready "$WORK/$role.out" || { echo "$role did not start: $(cat "$WORK/$role.err")" >&2; exit 1; }
done

# redis-cli's own XADD ceiling on this Redis (redis-benchmark 7.0 has no
# built-in xadd test: the command is given as arguments).
xadd_rate() {
  redis-benchmark -p "$port" -q "$@" XADD faultline-bench-xadd '*' f v 2>&1 | tr '\r' '\n' |
    sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1
}
xadd_plain="$(xadd_rate -n 100000)"
xadd_pipe16="$(xadd_rate -n 500000 -P 16)"
redis-cli -p "$port" DEL faultline-bench-xadd >/dev/null

commands() { redis-cli -p "$port" INFO stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p'; }
before="$(commands)"
start="$(date +%s.%N)"
"$BUILD/cli/faultline" live submit --redis "$redis" --postgres "$postgres" --invoices "$N" --seed 1 >/dev/null
while :; do
  # (sed, not a Python interpreter per poll: the poll shares the 2 cores
  # with the pipeline it measures.)
  done_count="$("$BUILD/cli/faultline" live status --postgres "$postgres" --json |
                sed -n 's/.*"terminal": \([0-9]*\).*/\1/p')"
  [ "${done_count:-0}" -ge "$N" ] && break
  sleep 0.2
done
end="$(date +%s.%N)"
after="$(commands)"
"$BUILD/cli/faultline" live status --postgres "$postgres"

python3 - "$N" "$start" "$end" "$before" "$after" "$xadd_plain" "$xadd_pipe16" <<'PY'
import sys
n, start, end, before, after, plain, pipe = sys.argv[1:]
n = int(n); secs = float(end) - float(start)
ops = (int(after) - int(before)) / n
rate = n / secs
print(f"invoices            {n} in {secs:.2f} s: {rate:.0f} invoices/s end to end")
print(f"redis commands      {ops:.1f} per invoice (INFO total_commands_processed)")
print(f"XADD ceiling        {float(plain):.0f}/s unpipelined, {float(pipe):.0f}/s pipelined x16")
goal = 0.5 * float(plain) / ops
print(f"goal (50% of unpipelined ceiling / commands per invoice) {goal:.0f} invoices/s; measured {rate / goal * 100:.0f}% of it")
PY

# Memory: resident set of each worker now (idle, after the run), then with
# the OCR worker stopped and 10,000 more invoices submitted: 10,000
# requests wait undelivered in the OCR stream and 10,000 workflows in the
# orchestrator.
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
for role in ocr validation matching accounting archive orchestrator; do
  echo "rss after the run    $role $(rss "${PID_OF[$role]}") kB"
done
kill -TERM "${PID_OF[ocr]}"
wait "${PID_OF[ocr]}" || true
"$BUILD/cli/faultline" live submit --redis "$redis" --postgres "$postgres" --invoices 10000 --seed 2 >/dev/null
for _ in $(seq 1 600); do
  [ "$(redis-cli -p "$port" XLEN faultline:ocr)" -ge 10000 ] && break
  sleep 0.1
done
echo "ocr stream           $(redis-cli -p "$port" XLEN faultline:ocr) entries, $(redis-cli -p "$port" MEMORY USAGE faultline:ocr SAMPLES 0) bytes (MEMORY USAGE)"
echo "redis used_memory    $(redis-cli -p "$port" INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') bytes"
for role in validation matching accounting archive orchestrator; do
  echo "rss at 10,000 queued $role $(rss "${PID_OF[$role]}") kB"
done
