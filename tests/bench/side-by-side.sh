#!/usr/bin/env bash
# Our server and the peers (../shared/peers: escalated-django, django-helpdesk), measured by the
# same wrk driver (peers/bench/bench.sh) with the same data sizes, one after the other in one run.
# Usage: tests/bench/side-by-side.sh [OUT=target/side-by-side]
# Env: NS="10000 100000"    sizes for ours and the peers (empty: none)
#      OURS_ONLY_NS=""       further sizes for ours alone (e.g. 1000000: the peers take about an hour there)
#      DBS="sqlite mysql"    our databases;  PEERS=... as for run-all.sh (empty: ours only)
#      plus bench.sh knobs (DURATION, CONC, ...).
# Needs: cargo build --release -p escalated -p escalated-bench; wrk (apt-get install -y wrk).
# Our databases are kept between runs (escalated-bench --reuse), so a rerun does not reseed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS_DIR=${PEERS_DIR:-$ROOT/../shared/peers}
OUT=${1:-$ROOT/target/side-by-side}
BENCH=$ROOT/target/release/escalated-bench
NS=${NS-"10000 100000"}
DBS=${DBS:-"sqlite mysql"}
PEERS=${PEERS-"dh-sqlite dh-mysql ed-sqlite ed-mysql"}
mkdir -p "$OUT"
[ -x "$BENCH" ] || { echo "missing $BENCH: cargo build --release -p escalated -p escalated-bench" >&2; exit 1; }

ours() {  # db n: seed (or reuse), serve, measure with bench.sh, stop
  local db=$1 n=$2 profile="$OUT/ours-$1-$2.env" log="$OUT/ours-$1-$2.log" pid
  rm -f "$profile"
  "$BENCH" --db "$db" --tickets "$n" --reuse --serve "$profile" >"$log" 2>&1 &
  pid=$!
  until [ -f "$profile" ]; do
    kill -0 "$pid" 2>/dev/null || { echo "escalated-bench stopped:" >&2; cat "$log" >&2; exit 1; }
    sleep 1
  done
  LABEL="N=$n $db" "$PEERS_DIR/bench/bench.sh" "$profile" "$OUT"
  kill -TERM "$pid"; wait "$pid" || true
}

for n in $NS; do
  for db in $DBS; do ours "$db" "$n"; done
  if [ -n "$PEERS" ]; then NS=$n PEERS=$PEERS "$PEERS_DIR/run-all.sh" "$OUT"; fi
done
for n in ${OURS_ONLY_NS:-}; do
  for db in $DBS; do ours "$db" "$n"; done
done
"$PEERS_DIR/bench/report.sh" "$OUT/results.tsv"
