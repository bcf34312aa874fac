#!/usr/bin/env bash
# Several nodes, proved on real parts: starts three `escalated serve` nodes behind HAProxy, first
# on one MariaDB (the local one, a fresh database), then on a three-node MariaDB Galera cluster
# (three extra `mariadbd` on this machine), drives load through the balancer with
# tests/cluster/drive.py and checks what several nodes must hold (docs/operations.md, "Several
# nodes"). Prints PASS/FAIL per check and exits 1 when any fails. Run by hand (not in .ci/run):
#
#   tests/cluster/run.sh [one|galera|both]      (default both)
#
# Environment:
#   ESCALATED_BIN   the server binary (default: target/release/escalated, built when missing,
#                   under CARGO_TARGET_DIR when set)
#   MYSQL_HOST / MYSQL_PORT   the one MariaDB (default 127.0.0.1:3306, user root, no password);
#                   the script creates and drops its own database there and touches nothing else
#   SECONDS_OF_LOAD how long the clients write (default 30)
#   CLIENTS         concurrent writing clients (default 8)
#   KEEP=1          leave the work directory (logs, Galera datadirs) in place
#
# Needs (installed with apt-get when missing, as root): haproxy, galera-4, rsync (Galera's state
# transfer), python3, and the MariaDB server and client packages.
set -uo pipefail

topology=${1:-both}
case $topology in one|galera|both) ;; *) echo "usage: $0 [one|galera|both]" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
load_seconds=${SECONDS_OF_LOAD:-30}
clients=${CLIENTS:-8}
mysql_host=${MYSQL_HOST:-127.0.0.1}
mysql_port=${MYSQL_PORT:-3306}
cache_seconds=3
job_seconds=3
rate_limit=5
node_ports=(18081 18082 18083)
balancer_port=18080
galera_provider=/usr/lib/galera/libgalera_smm.so

need=()
command -v haproxy >/dev/null || need+=(haproxy)
[[ -e $galera_provider ]] || need+=(galera-4)
command -v rsync >/dev/null || need+=(rsync)
command -v python3 >/dev/null || need+=(python3)
command -v curl >/dev/null || need+=(curl)
command -v mariadb >/dev/null || need+=(mariadb-client)
command -v mariadbd >/dev/null || need+=(mariadb-server)
if ((${#need[@]})); then
    echo "== installing ${need[*]}"
    apt-get install -y "${need[@]}" >/dev/null || { echo "cannot install ${need[*]}" >&2; exit 2; }
fi

bin=${ESCALATED_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/escalated}
if [[ ! -x $bin ]]; then
    echo "== building the release server"
    (cd "$root" && cargo build --release -q -p escalated) || exit 2
fi

work=$(mktemp -d /tmp/escalated-cluster.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    pids=()
    if [[ ${KEEP:-0} == 1 ]]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # seconds, description, command...
    local limit=$1 what=$2 i; shift 2
    for ((i = 0; i < limit * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "timed out waiting for $what" >&2
    return 1
}

stop_pids() { # stops what was started since the given count of pids
    local keep=$1
    for pid in "${pids[@]:keep}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]:keep}"; do wait "$pid" 2>/dev/null; done
    pids=("${pids[@]:0:keep}")
}

start_balancer() {
    local dir=$1
    cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 10m
    timeout server 10m
    option http-server-close
frontend escalated
    bind 127.0.0.1:$balancer_port
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
$(for i in 0 1 2; do echo "    server node$((i + 1)) 127.0.0.1:${node_ports[i]} check inter 1s"; done)
EOF
    haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
    pids+=($!)
    wait_for 10 "HAProxy" curl -sf "http://127.0.0.1:$balancer_port/healthz"
}

# Starts node $2 (0-based) on database URL $3 in $1; the first start prints the admin token.
start_node() {
    local dir=$1 i=$2 url=$3 port=${node_ports[$2]}
    mkdir -p "$dir/scripts" "$dir/plugins" "$dir/attachments"
    env -i PATH="$PATH" HOME="$HOME" \
        ESCALATED_SERVER__BIND="127.0.0.1:$port" \
        ESCALATED_DATABASE__URL="$url" \
        ESCALATED_DATABASE__MAX_CONNECTIONS=16 \
        ESCALATED_AUTH__TOKEN_CACHE_SECONDS=$cache_seconds \
        ESCALATED_API__RATE_LIMIT=1000000 \
        ESCALATED_WEBHOOKS__ALLOW_PRIVATE=true \
        ESCALATED_WEBHOOKS__RETRY_BASE_MS=200 \
        ESCALATED_JOBS__CHECK_SLA_SECONDS=$job_seconds \
        ESCALATED_JOBS__CLOSE_RESOLVED_SECONDS=$job_seconds \
        ESCALATED_JOBS__RUN_AUTOMATIONS_SECONDS=$job_seconds \
        ESCALATED_JOBS__PURGE_ACTIVITIES_SECONDS=$job_seconds \
        ESCALATED_JOBS__PURGE_IDEMPOTENCY_KEYS_SECONDS=$job_seconds \
        ESCALATED_JOBS__PURGE_ATTACHMENTS_SECONDS=$job_seconds \
        ESCALATED_JOBS__ROLL_UP_REPORTS_SECONDS=$job_seconds \
        ESCALATED_SCRIPTS__DIR="$dir/scripts" \
        ESCALATED_PLUGINS__DIR="$dir/plugins" \
        ESCALATED_ATTACHMENTS__STORE="file://$dir/attachments" \
        ESCALATED_LOG__LEVEL=warn \
        "$bin" serve >"$dir/node$((i + 1)).out" 2>"$dir/node$((i + 1)).log" &
    pids+=($!)
    wait_for 60 "node $((i + 1))" curl -sf "http://127.0.0.1:$port/readyz"
}

# Three nodes on the database URLs given, the balancer, the load and the checks.
run_topology() {
    local name=$1; shift
    local urls=("$@") dir="$work/$name" first=${#pids[@]}
    mkdir -p "$dir"
    echo "== $name: three nodes behind HAProxy on ${urls[*]}"
    start_node "$dir" 0 "${urls[0]}" || { stop_pids "$first"; return 1; }
    local token
    token=$(grep -A1 'shown only this once' "$dir/node1.out" | tail -n1)
    if [[ -z $token ]]; then echo "node 1 printed no admin token" >&2; stop_pids "$first"; return 1; fi
    start_node "$dir" 1 "${urls[1]}" && start_node "$dir" 2 "${urls[2]}" && start_balancer "$dir" \
        || { stop_pids "$first"; return 1; }
    local started=$SECONDS status
    python3 "$root/tests/cluster/drive.py" \
        --balancer "http://127.0.0.1:$balancer_port" \
        --nodes "$(printf 'http://127.0.0.1:%s,' "${node_ports[@]}" | sed 's/,$//')" \
        --token "$token" --sql "$sql" --seconds "$load_seconds" --clients "$clients" \
        --cache-seconds $cache_seconds --job-seconds $job_seconds --rate-limit $rate_limit \
        --label "$name" ${hold_applier:+--hold-applier "$hold_applier"} | tee "$dir/drive.out"
    status=${PIPESTATUS[0]}
    echo "== $name: $((SECONDS - started)) s; node logs in $dir (KEEP=1 keeps them)"
    if grep -q -E 'panicked| ERROR ' "$dir"/node*.log; then
        echo "   errors logged by the nodes:"; grep -h -E 'panicked| ERROR ' "$dir"/node*.log | head -n 5
    fi
    stop_pids "$first"
    return "$status"
}

results=()
hold_applier=  # set for Galera below

if [[ $topology == one || $topology == both ]]; then
    db="escalated_cluster_$$"
    mysql=(mariadb -h "$mysql_host" -P "$mysql_port" -u root)
    "${mysql[@]}" -e "CREATE DATABASE $db" || { echo "cannot reach MariaDB at $mysql_host:$mysql_port" >&2; exit 2; }
    url="mysql://root@$mysql_host:$mysql_port/$db"
    sql="${mysql[*]} $db"
    run_topology one-mariadb "$url" "$url" "$url"
    rc=$?
    results+=("one MariaDB: $([[ $rc == 0 ]] && echo PASS || echo FAIL)")
    "${mysql[@]}" -e "DROP DATABASE $db"
fi

# A three-node Galera cluster on this machine: ports 3311-3313, group communication
# 4561-4563, incremental transfers 4571-4573, state transfers (rsync) 4581-4583.
start_galera() {
    local dir=$work/galera
    mkdir -p "$dir"
    # The servers (and the rsync daemon of a state transfer) run as mysql.
    chmod 755 "$work" "$dir"
    for i in 1 2 3; do
        mkdir -p "$dir/db$i"
        cat >"$dir/my$i.cnf" <<EOF
[mariadbd]
user = mysql
datadir = $dir/db$i
socket = $dir/db$i.sock
pid-file = $dir/db$i.pid
log-error = $dir/db$i.err
port = 331$i
bind-address = 127.0.0.1
skip-name-resolve
innodb_buffer_pool_size = 64M
innodb_log_file_size = 48M
innodb_flush_log_at_trx_commit = 2
innodb_autoinc_lock_mode = 2
binlog_format = ROW
default_storage_engine = InnoDB
wsrep_on = ON
wsrep_provider = $galera_provider
wsrep_cluster_name = escalated-test
wsrep_cluster_address = gcomm://127.0.0.1:4561,127.0.0.1:4562,127.0.0.1:4563
wsrep_node_name = node$i
wsrep_node_address = 127.0.0.1
wsrep_node_incoming_address = 127.0.0.1:331$i
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:456$i;ist.recv_addr=127.0.0.1:457$i;gcache.size=64M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:458$i
wsrep_slave_threads = 2
# Reads wait until the node has applied what the cluster committed before them: a client that
# creates a ticket through one node and replies through another finds it (docs/architecture.md).
wsrep_sync_wait = 1
EOF
        chown mysql: "$dir" "$dir/db$i"
        mariadb-install-db --defaults-file="$dir/my$i.cnf" --auth-root-authentication-method=normal \
            >"$dir/install$i.log" 2>&1 || { echo "mariadb-install-db failed: $dir/install$i.log" >&2; return 1; }
    done
    for i in 1 2 3; do
        local bootstrap=()
        [[ $i == 1 ]] && bootstrap=(--wsrep-new-cluster)
        mariadbd --defaults-file="$dir/my$i.cnf" "${bootstrap[@]}" >/dev/null 2>&1 &
        pids+=($!)
        wait_for 120 "Galera node $i to be synced" galera_synced "$dir/db$i.sock" \
            || { tail -n 20 "$dir/db$i.err" >&2; return 1; }
        if [[ $i == 1 ]]; then
            mariadb -S "$dir/db1.sock" -u root -e \
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" \
                || return 1
        fi
    done
    local size
    size=$(mariadb -S "$dir/db1.sock" -u root -N -e "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)
    echo "== Galera cluster up: $size nodes (auto_increment_increment $(mariadb -h 127.0.0.1 -P 3312 -u root -N -e 'SELECT @@auto_increment_increment, @@auto_increment_offset'))"
    [[ $size == 3 ]]
}

galera_synced() {
    [[ $(mariadb -S "$1" -u root -N -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2) == Synced ]]
}

if [[ $topology == galera || $topology == both ]]; then
    galera_first=${#pids[@]}
    if start_galera; then
        urls=()
        for i in 1 2 3; do urls+=("mysql://root@127.0.0.1:331$i/escalated"); done
        # Reads for the checks go to node 1, after it has applied everything (wsrep_sync_wait).
        sql="mariadb -h 127.0.0.1 -P 3311 -u root --init-command='SET SESSION wsrep_sync_wait=1' escalated"
        # The check of reads across nodes holds back node 2's applier.
        hold_applier="mariadb -S $work/galera/db2.sock -u root"
        run_topology galera "${urls[@]}"
        rc=$?
        results+=("Galera: $([[ $rc == 0 ]] && echo PASS || echo FAIL)")
    else
        results+=("Galera: FAIL (the cluster did not start; see above)")
    fi
    stop_pids "$galera_first"
fi

echo "== summary"
failed=0
for line in "${results[@]}"; do
    echo "   $line"
    [[ $line == *FAIL* ]] && failed=1
done
exit $failed
