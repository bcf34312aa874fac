#!/usr/bin/env bash
# Runs `cargo test --workspace` ROUNDS times (default 10) on SQLite and MariaDB while another
# process keeps every core busy, then stops the load and prints a summary. A test that passes
# only on an idle machine fails here.
#
#   tests/under-load.sh [ROUNDS]
#
# Environment:
#   ESCALATED_TEST_MYSQL_URL  MariaDB/MySQL server for the MySQL variants
#                             (default mysql://root@127.0.0.1:3306); they are required here
#                             (ESCALATED_TEST_REQUIRE_MYSQL=1), so an unreachable server fails
#   LOAD_CPUS                 busy processes to run (default: the number of cores)
#   LOAD_NICE                 niceness of the load (default 0: it competes with the tests
#                             as an equal; 19 to share a machine politely while trying things)
#   LOGS                      where each round's output goes, from the repository's root
#                             (default target/under-load)
#
# The load is `stress-ng --cpu N` when stress-ng is installed (Debian: apt-get install
# stress-ng), else N copies of `yes > /dev/null`. The test binaries are built before the load
# starts, so every round runs the same build.
set -uo pipefail

rounds=${1:-10}
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [ROUNDS]   (ROUNDS a whole number of at least 1)" >&2
    exit 2
fi
cpus=${LOAD_CPUS:-$(nproc)}
nice_level=${LOAD_NICE:-0}
logs=${LOGS:-target/under-load}
cd "$(dirname "$0")/.." || exit 2
mkdir -p "$logs"

export ESCALATED_TEST_REQUIRE_MYSQL=1

echo "Building the tests (no load yet)..."
if ! cargo test --workspace --no-run >"$logs/build.log" 2>&1; then
    echo "The build failed; see $logs/build.log" >&2
    exit 2
fi

load_pids=()
stop_load() {
    for pid in "${load_pids[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${load_pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    load_pids=()
}
trap stop_load EXIT
trap 'stop_load; exit 130' INT TERM

if command -v stress-ng >/dev/null; then
    nice -n "$nice_level" stress-ng --cpu "$cpus" --quiet >/dev/null 2>&1 &
    load_pids+=($!)
    load="stress-ng --cpu $cpus"
else
    for _ in $(seq "$cpus"); do
        nice -n "$nice_level" sh -c 'exec yes > /dev/null' &
        load_pids+=($!)
    done
    load="$cpus x yes > /dev/null"
fi
echo "Load: $load (nice $nice_level). $rounds rounds of cargo test --workspace, SQLite and MySQL."

passed=0
failures=()
for round in $(seq "$rounds"); do
    log="$logs/round-$round.log"
    started=$(date +%s)
    if cargo test --workspace >"$log" 2>&1; then
        outcome=passed
        passed=$((passed + 1))
    else
        outcome=FAILED
        failed=$(grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/\1/' |
            paste -sd ' ' -)
        failures+=("round $round: ${failed:-no test named; see $log}")
    fi
    echo "round $round/$rounds: $outcome in $(($(date +%s) - started)) s ($log)"
done

stop_load
echo
echo "Summary: $passed of $rounds rounds passed under load ($load)."
if ((${#failures[@]})); then
    echo "Failed tests:"
    printf '  %s\n' "${failures[@]}"
    exit 1
fi
