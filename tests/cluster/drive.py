#!/usr/bin/env python3
"""Drives load through the balancer in front of several `escalated serve` nodes and checks what
several nodes must hold (see tests/cluster/run.sh, which starts everything this talks to).

Standard library only. Prints one PASS/FAIL line per check and a JSON summary; exits 1 when a
check fails. Every figure it checks is read back from the real parts: the database (through the
`mariadb` client), each node's event stream, the webhook receivers it runs, each node's /metrics.
"""

import argparse
import collections
import http.client
import http.server
import json
import random
import re
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def request(base, method, path, token, body=None, timeout=30):
    """One HTTP request; answers (status, parsed JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, None
    except (urllib.error.URLError, OSError) as err:
        return 0, {"error": str(err)}


class Sql:
    """Reads the database with the `mariadb` command-line client."""

    def __init__(self, command):
        self.command = command

    def rows(self, query):
        out = subprocess.run(
            self.command + ["--batch", "--skip-column-names", "-e", query],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]


class Stream(threading.Thread):
    """Follows one node's event stream from `after` and keeps every event id and type."""

    def __init__(self, node, prefix, token, after):
        super().__init__(daemon=True)
        self.node, self.prefix, self.token, self.after = node, prefix, token, after
        self.events = []  # (id, type, ticket id)
        self.error = None
        self.stop = False

    def run(self):
        url = urllib.parse.urlsplit(self.node)
        try:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
            conn.request(
                "GET",
                f"{self.prefix}/realtime/events?last_event_id={self.after}",
                headers={"Authorization": f"Bearer {self.token}"},
            )
            resp = conn.getresponse()
            if resp.status != 200:
                self.error = f"status {resp.status}"
                return
            data = []
            while not self.stop:
                line = resp.readline()
                if not line:
                    self.error = "the stream ended"
                    return
                line = line.decode().rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "" and data:
                    event = json.loads("\n".join(data))
                    data = []
                    ticket = (event.get("data") or {}).get("ticket") or {}
                    self.events.append((event["id"], event["type"], ticket.get("id")))
        except Exception as err:  # reported as the check's failure
            if not self.stop:
                self.error = repr(err)


class Receiver:
    """A webhook receiver: keeps (webhook-id header, event id) of every delivery."""

    def __init__(self, port):
        self.deliveries = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                receiver.deliveries.append((self.headers.get("webhook-id"), body["id"]))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def metric(text, name, labels):
    """The value of one sample of a Prometheus text exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(name + "{") and all(part in line for part in want.split(",")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(nodes, token):
    texts = []
    for node in nodes:
        req = urllib.request.Request(node + "/metrics")
        req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            texts.append(resp.read().decode())
    return texts


JOBS = [
    "check-sla",
    "close-resolved",
    "purge-activities",
    "purge-attachments",
    "run-automations",
    "purge-idempotency-keys",
    "roll-up-reports",
]


class Load:
    """Concurrent clients through the balancer: each creates tickets, replies to them and moves
    their status; every acknowledged write is kept to be found again."""

    def __init__(self, api, token, run_id):
        self.api, self.token, self.run_id = api, token, run_id
        self.lock = threading.Lock()
        self.created = {}  # reference -> (id, subject)
        self.replies = collections.defaultdict(list)  # ticket id -> [reply id]
        self.statuses = collections.defaultdict(list)  # ticket id -> [status]
        self.failures = collections.Counter()  # "METHOD path status" -> count
        self.first_failures = []  # the first few unexpected answers, whole, to explain them
        self.requests = 0

    def call(self, method, path, body, since=None):
        """`since`: when the ticket addressed was acknowledged, to tell how long after it a
        failed request came."""
        status, answer = request(self.api, method, path, self.token, body)
        with self.lock:
            self.requests += 1
            if not 200 <= status < 300:
                self.failures[f"{method} {path.split('/')[1]} {status}"] += 1
                if status != 503 and len(self.first_failures) < 5:
                    after = ""
                    if since is not None:
                        after = f" {1000 * (time.monotonic() - since):.1f} ms after the create"
                    self.first_failures.append(f"{method} {path} {status}{after}: {answer}")
        return status, answer

    def client(self, number, until):
        i = 0
        cycle = ["in_progress", "waiting_on_agent"]
        while time.monotonic() < until:
            i += 1
            subject = f"cluster-{self.run_id}-{number}-{i}"
            status, answer = self.call(
                "POST", "/tickets", {"subject": subject, "description": "load"}
            )
            if status != 201:
                continue
            created = time.monotonic()
            ticket = answer["data"]
            ref, tid = ticket["reference"], ticket["id"]
            with self.lock:
                self.created[ref] = (tid, subject)
            for k in range(4):
                if k % 2 == 0:
                    status, answer = self.call(
                        "POST", f"/tickets/{ref}/reply", {"body": f"{subject} reply {k}"}, created
                    )
                    if status == 201:
                        with self.lock:
                            self.replies[tid].append(answer["data"]["id"])
                else:
                    new = cycle[(k // 2) % 2]
                    status, _ = self.call(
                        "PATCH", f"/tickets/{ref}/status", {"status": new}, created
                    )
                    if status == 200:
                        with self.lock:
                            self.statuses[tid].append(new)

    def run(self, clients, seconds):
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(target=self.client, args=(n, until)) for n in range(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--balancer", required=True)
    p.add_argument("--nodes", required=True, help="comma-separated node base URLs")
    p.add_argument("--prefix", default="/support/api/v1")
    p.add_argument("--token", required=True, help="an admin token")
    p.add_argument("--sql", required=True, help="mariadb client command line")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--cache-seconds", type=float, required=True)
    p.add_argument("--job-seconds", type=float, required=True)
    p.add_argument("--rate-limit", type=int, default=5)
    p.add_argument("--hook-ports", default="18091,18092")
    p.add_argument("--label", default="")
    p.add_argument(
        "--hold-applier",
        help="mariadb client command line for the second node's database: with it, the second"
        " node's replication is held back while a ticket is created through the first node",
    )
    args = p.parse_args()

    nodes = args.nodes.split(",")
    api = args.balancer + args.prefix
    sql = Sql(shlex.split(args.sql))
    admin = args.token
    run_id = f"{int(time.time())}{random.randint(0, 999):03d}"
    results = []  # (check, passed, detail)
    figures = {"label": args.label, "nodes": len(nodes)}

    def check(name, passed, detail):
        results.append((name, bool(passed), detail))
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}", flush=True)

    status, me = request(api, "POST", "/auth/validate", admin)
    if status != 200:
        print(f"FAIL  the admin token is not accepted through the balancer ({status})")
        return 1
    admin_id = (me["data"].get("user") or me["data"]).get("id")

    # Webhook receivers, registered before the outbox position is taken.
    receivers = []
    for port in [int(x) for x in args.hook_ports.split(",")]:
        receivers.append(Receiver(port))
        status, answer = request(
            api, "POST", "/admin/webhooks/create", admin,
            {"url": f"http://127.0.0.1:{port}/hook", "events": ["*"]},
        )
        if status != 201:
            print(f"FAIL  creating a webhook answered {status}: {answer}")
            return 1
    start_event = int(sql.rows("SELECT COALESCE(MAX(id), 0) FROM events")[0][0])

    streams = [Stream(node, args.prefix, admin, start_event) for node in nodes]
    for s in streams:
        s.start()
    before = scrape(nodes, admin)
    window_start = time.monotonic()

    # 1. The load.
    load = Load(api, admin, run_id)
    began = time.monotonic()
    load.run(args.clients, args.seconds)
    load_seconds = time.monotonic() - began
    writes = len(load.created) + sum(map(len, load.replies.values())) + sum(
        map(len, load.statuses.values())
    )
    figures.update(
        load_seconds=round(load_seconds, 1),
        clients=args.clients,
        requests=load.requests,
        acknowledged_writes=writes,
        creates=len(load.created),
        writes_per_second=round(writes / load_seconds, 1),
    )
    # 503 is the documented answer of a write that kept conflicting: nothing was written, and
    # the checks below verify that. Anything else is a failure.
    refused = sum(n for k, n in load.failures.items() if k.endswith(" 503"))
    others = {k: n for k, n in load.failures.items() if not k.endswith(" 503")}
    figures.update(refused_503=refused)
    check(
        "every write answered 2xx, or 503 after conflicting 10 times",
        not others,
        f"{load.requests} requests, {writes} acknowledged writes in {load_seconds:.1f} s,"
        f" {refused} answered 503" + (f"; failures {others}" if others else ""),
    )
    for failure in load.first_failures:
        print(f"      {failure}")

    # 2. No lost or duplicated writes.
    like = f"cluster-{run_id}-%"
    rows = sql.rows(
        f"SELECT id, reference, subject, status FROM tickets WHERE subject LIKE '{like}'"
    )
    by_ref = collections.defaultdict(list)
    by_subject = collections.Counter()
    status_of = {}
    for tid, ref, subject, st in rows:
        by_ref[ref].append((int(tid), subject))
        by_subject[subject] += 1
        status_of[int(tid)] = st
    lost = [r for r, (tid, subj) in load.created.items() if by_ref.get(r) != [(tid, subj)]]
    doubled = [s for s, n in by_subject.items() if n > 1]
    unacknowledged = len(rows) - len(load.created)
    check(
        "every acknowledged create exists once",
        not lost and not doubled,
        f"{len(load.created)} acknowledged, {len(rows)} rows, {len(lost)} missing or different,"
        f" {len(doubled)} subjects twice, {unacknowledged} rows without an acknowledgement",
    )
    for ref in lost[:3]:
        tid, subject = load.created[ref]
        found = sql.rows(
            f"SELECT id, reference, subject FROM tickets WHERE id = {int(tid)} OR subject = '{subject}'"
        )
        print(f"      acknowledged {ref} (id {tid}, {subject}); the database has {found}")
    ids = [str(tid) for tid, _ in load.created.values()] or ["0"]
    reply_rows = sql.rows(
        f"SELECT id, ticket_id FROM replies WHERE ticket_id IN ({','.join(ids)})"
    )
    replies_found = collections.defaultdict(list)
    for rid, tid in reply_rows:
        replies_found[int(tid)].append(int(rid))
    reply_mismatch = [
        tid for tid, acked in load.replies.items()
        if sorted(acked) != sorted(replies_found.get(tid, []))
    ]
    acked_replies = sum(map(len, load.replies.values()))
    check(
        "every acknowledged reply exists once, on its ticket",
        not reply_mismatch,
        f"{acked_replies} acknowledged, {len(reply_rows)} rows,"
        f" {len(reply_mismatch)} tickets whose replies differ",
    )
    wrong_status = [
        tid for tid, seq in load.statuses.items() if status_of.get(tid) != seq[-1]
    ]
    changes = collections.Counter(
        int(tid)
        for (tid,) in sql.rows(
            f"SELECT ticket_id FROM events WHERE type = 'ticket.status_changed'"
            f" AND ticket_id IN ({','.join(ids)})"
        )
    )
    extra = [tid for tid, _ in load.created.values() if changes.get(tid, 0) != len(load.statuses.get(tid, []))]
    check(
        "one status change stored per acknowledged one (none for a refused one)",
        not extra,
        f"{sum(map(len, load.statuses.values()))} acknowledged, {sum(changes.values())} stored,"
        f" {len(extra)} tickets differ",
    )
    check(
        "every ticket ends in its last acknowledged status",
        not wrong_status,
        f"{len(load.statuses)} tickets, {len(wrong_status)} differ",
    )

    # 3. Events: each exactly once on every node's stream and in every webhook receiver.
    events = [
        (int(i), t, None if tid == "NULL" else int(tid))
        for i, t, tid in sql.rows(
            f"SELECT id, type, ticket_id FROM events WHERE id > {start_event} ORDER BY id"
        )
    ]
    expected_ids = [e[0] for e in events]
    last = expected_ids[-1] if expected_ids else start_event
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        streams_done = all(
            s.error or (s.events and s.events[-1][0] >= last) or not expected_ids for s in streams
        )
        hooks_done = all(
            len({e for _, e in r.deliveries}) >= len(expected_ids) for r in receivers
        )
        if streams_done and hooks_done:
            break
        time.sleep(0.5)
    drained = round(time.monotonic() - began - load_seconds, 1)
    created_events = collections.Counter(
        tid for _, t, tid in events if t == "ticket.created"
    )
    acked_ids = {tid for tid, _ in load.created.values()}
    missing_created = [tid for tid in acked_ids if created_events.get(tid) != 1]
    check(
        "one ticket.created event per acknowledged create",
        not missing_created,
        f"{len(events)} events in the outbox after #{start_event}; "
        f"{len(missing_created)} acknowledged creates without exactly one",
    )
    for n, s in enumerate(streams):
        got = [e[0] for e in s.events]
        dupes = len(got) - len(set(got))
        ordered = all(a < b for a, b in zip(got, got[1:]))
        check(
            f"stream on node {n + 1}: every event once, in order",
            not s.error and got == expected_ids,
            f"{len(got)} received of {len(expected_ids)}, {dupes} duplicates,"
            f" {len(set(expected_ids) - set(got))} missing, in order: {ordered}"
            + (f", error: {s.error}" if s.error else ""),
        )
        s.stop = True
    for n, r in enumerate(receivers):
        got = collections.Counter(e for _, e in r.deliveries)
        dupes = sum(c - 1 for c in got.values() if c > 1)
        missing = set(expected_ids) - set(got)
        extra = set(got) - set(expected_ids)
        check(
            f"webhook receiver {n + 1}: every event once",
            not dupes and not missing and not extra,
            f"{sum(got.values())} deliveries of {len(expected_ids)} events,"
            f" {dupes} duplicates, {len(missing)} missing, {len(extra)} unknown",
        )
    figures.update(events_checked=len(expected_ids), drain_seconds=drained)

    # 4. Jobs: once per period across the nodes.
    after = scrape(nodes, admin)
    window = time.monotonic() - window_start
    periods = window / args.job_seconds
    figures.update(job_window_seconds=round(window, 1), job_periods=round(periods, 1))
    for job in JOBS:
        runs = 0
        for b, a in zip(before, after):
            for result in ("ok", "error"):
                labels = {"job": job, "result": result}
                runs += metric(a, "escalated_job_runs_total", labels) - metric(
                    b, "escalated_job_runs_total", labels
                )
        check(
            f"job {job}: once per period",
            periods / 2 - 1 <= runs <= periods + 1,
            f"{int(runs)} runs on {len(nodes)} nodes in {window:.1f} s"
            f" ({periods:.1f} periods of {args.job_seconds:g} s; once per period allows"
            f" {int(periods / 2 - 1) if periods > 2 else 0}..{int(periods + 1)})",
        )
    retried = sum(metric(a, "escalated_conflict_retries_total", {"result": "retried"}) for a in after)
    gave_up = sum(metric(a, "escalated_conflict_retries_total", {"result": "gave_up"}) for a in after)
    figures.update(conflict_retries=int(retried), conflict_gave_up=int(gave_up))
    print(f"info  conflicts: {int(retried)} requests run again, {int(gave_up)} gave up (503)")

    # 5. A revoked token stops working on every node within auth.token_cache_seconds.
    status, answer = request(
        api, "POST", "/admin/api-tokens/create", admin,
        {"name": f"revoke-{run_id}", "user_id": admin_id, "abilities": ["tickets:read"]},
    )
    if status != 201:
        check("revocation on every node", False, f"creating the token answered {status}")
    else:
        token_id, plain = answer["data"]["id"], answer["data"]["plain_text_token"]
        warm = [request(node + args.prefix, "GET", "/tags", plain)[0] for node in nodes]
        status, _ = request(api, "DELETE", f"/admin/api-tokens/{token_id}/delete", admin)
        revoked_at = time.monotonic()
        seen = {}
        while len(seen) < len(nodes) and time.monotonic() - revoked_at < args.cache_seconds + 5:
            for n, node in enumerate(nodes):
                if n not in seen and request(node + args.prefix, "GET", "/tags", plain)[0] == 401:
                    seen[n] = time.monotonic() - revoked_at
            time.sleep(0.05)
        slowest = max(seen.values()) if len(seen) == len(nodes) else None
        figures.update(revocation_seconds=None if slowest is None else round(slowest, 2))
        check(
            "revocation on every node within auth.token_cache_seconds",
            warm == [200] * len(nodes)
            and status in (200, 204)
            and slowest is not None
            and slowest <= args.cache_seconds + 0.25,
            f"warmed {warm}, revoke {status}; refused after "
            + ", ".join(f"node {n + 1} {seen[n]:.2f} s" for n in sorted(seen))
            + f" (bound {args.cache_seconds:g} s)",
        )

    # 6. Rate limits: a token's limit is per node, so through the balancer at most nodes x limit.
    limit = args.rate_limit
    status, answer = request(
        api, "POST", "/admin/api-tokens/create", admin,
        {"name": f"limited-{run_id}", "user_id": admin_id, "abilities": ["tickets:read"],
         "rate_limit": limit},
    )
    if status != 201:
        check("rate limit", False, f"creating the token answered {status}")
    else:
        plain = answer["data"]["plain_text_token"]
        answers = collections.Counter(
            request(api, "GET", "/tags", plain)[0] for _ in range(limit * len(nodes) * 3)
        )
        ok = answers.get(200, 0)
        check(
            "rate limit within nodes x limit",
            limit < ok <= limit * len(nodes) and set(answers) <= {200, 429},
            f"{ok} of {sum(answers.values())} answered 200 within a minute with a limit of"
            f" {limit} on {len(nodes)} nodes (documented: up to {limit * len(nodes)}),"
            f" the rest {dict((k, v) for k, v in answers.items() if k != 200)}",
        )

    # 7. Read your writes across nodes: with the second node's database holding back what the
    # cluster committed (FLUSH TABLES WITH READ LOCK pauses a Galera node's applier), a ticket
    # created through the first node is found through the second, which waits for it
    # (wsrep_sync_wait) instead of answering 404.
    if args.hold_applier:
        hold = 2.0
        holder = subprocess.Popen(
            shlex.split(args.hold_applier)
            + ["-e", f"FLUSH TABLES WITH READ LOCK; SELECT SLEEP({hold})"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # the lock is taken
        first, second = nodes[0] + args.prefix, nodes[1] + args.prefix
        status, answer = request(
            first, "POST", "/tickets", admin, {"subject": f"causal {run_id}", "description": "x"}
        )
        ref = answer["data"]["reference"] if status == 201 else None
        if ref is not None and not re.fullmatch(r"[A-Za-z0-9-]+", ref):
            ref = None  # it goes into a statement below
        # What node 2's database holds now, read without waiting: the check means something
        # only while it has not applied the create.
        unapplied = ref is not None and Sql(shlex.split(args.hold_applier)).rows(
            "SET SESSION wsrep_sync_wait = 0;"
            f" SELECT COUNT(*) FROM escalated.tickets WHERE reference = '{ref}'"
        ) == [["0"]]
        began = time.monotonic()
        answers = []
        if ref:
            answers.append(request(second, "GET", f"/tickets/{ref}", admin)[0])
            answers.append(
                request(second, "POST", f"/tickets/{ref}/reply", admin, {"body": "causal"})[0]
            )
        waited = time.monotonic() - began
        holder.wait()
        figures.update(causal_wait_seconds=round(waited, 2))
        check(
            "a write through one node is seen through another still applying it",
            status == 201 and unapplied and answers == [200, 201],
            f"create {status}; node 2's database {'had not' if unapplied else 'HAD'} applied it"
            f" (held back for {hold:g} s); through node 2 show and reply answered {answers}"
            f" in {waited:.2f} s",
        )

    failed = [name for name, passed, _ in results if not passed]
    figures.update(checks=len(results), failed=failed)
    print("summary " + json.dumps(figures))
    print(f"{len(results) - len(failed)} of {len(results)} checks passed" + (
        f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
