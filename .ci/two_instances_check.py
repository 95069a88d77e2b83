#!/usr/bin/env python3
"""Two instances on one PostgreSQL database, each with its sweeper running
every second, on a database filled by `seed-demo`: nothing is done twice.

- the same Idempotency-Key sent to both at once: one record, the same answer
  twice;
- failed logins counted across both: the sixth failure of one username from
  one address is refused, whichever instance the five went to;
- every overdue clock marked overdue once and escalated once per level
  (the demo's past clocks and a complaint registered ten days late);
- each yearly visit-plan compile clock started once for its subject.

usage: two_instances_check.py BASE_A BASE_B DATABASE_URL DEMO_PASSWORD
"""
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

BASE_A, BASE_B, DB, PASSWORD = sys.argv[1:5]


def call(base, method, path, token=None, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), dict(r.headers)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None), dict(e.headers)


def sql(query):
    out = subprocess.run(["psql", DB, "-At", "-F", "|", "-c", query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def login(base, username):
    status, body, _ = call(base, "POST", "/api/v1/auth/login",
                           body={"username": username, "password": PASSWORD})
    assert status == 200, (status, body)
    return body["access_token"]


failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


engineer = login(BASE_A, "east.engineer")

# one Idempotency-Key, both instances at once
key = str(uuid.uuid4())
name = f"业主 two-instance {key[:8]}"
branch = call(BASE_A, "GET", "/api/v1/me", engineer)[1]["org_unit"]["id"]
answers = [None, None]
start = threading.Barrier(2)


def create(i, base):
    start.wait()
    answers[i] = call(base, "POST", "/api/v1/customers", engineer,
                      {"name": name, "branch_id": branch, "kind": "individual"}, {"Idempotency-Key": key})


threads = [threading.Thread(target=create, args=(i, b)) for i, b in enumerate((BASE_A, BASE_B))]
for t in threads:
    t.start()
for t in threads:
    t.join()
statuses = sorted(a[0] for a in answers)
ids = {a[1].get("id") for a in answers}
check(statuses == [201, 201] and len(ids) == 1,
      f"the same Idempotency-Key to both instances at once: {statuses}, ids {ids}")
check(sum({k.lower(): v for k, v in a[2].items()}.get("idempotent-replayed") == "true" for a in answers) == 1,
      "one of the two answers is the replay")
stored = int(sql(f"SELECT COUNT(*) FROM customers WHERE name = '{name}'")[0][0])
check(stored == 1, f"one customer stored ({stored})")

# failed logins count across both instances
bad = {"username": "east.pm2", "password": "not-the-password"}
codes = [call(BASE_A if i % 2 else BASE_B, "POST", "/api/v1/auth/login", body=bad)[0] for i in range(5)]
sixth = call(BASE_A, "POST", "/api/v1/auth/login", body=bad)[0]
right = call(BASE_B, "POST", "/api/v1/auth/login", body={"username": "east.pm2", "password": PASSWORD})[0]
check(codes == [401] * 5 and sixth == 429 and right == 429,
      f"five failures spread over both, then 429 on either: {codes} {sixth} {right}")

# a complaint registered ten days after it arrived: its clocks are overdue at once
clerk = login(BASE_B, "east.engineer")
project = call(BASE_B, "GET", "/api/v1/projects?limit=1", clerk)[1]["items"][0]["id"]
received = (datetime.now(timezone.utc) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
status, complaint, _ = call(BASE_B, "POST", "/api/v1/complaints", clerk, {
    "project_id": project, "received_at": received, "category": "warranty", "channel": "letter",
    "complainant_name": "王先生", "complainant_phone": "13800000000",
    "description": "a letter about a leaking window, registered ten days after it came"})
check(status == 201, f"a complaint registered late: {status} {complaint}")
before = int(sql("SELECT COUNT(*) FROM deadlines WHERE status = 'overdue'")[0][0])

# both sweepers run every second: give them several passes each
time.sleep(8)
overdue = int(sql("SELECT COUNT(*) FROM deadlines WHERE status = 'overdue'")[0][0])
check(overdue > before, f"the late complaint's clocks swept overdue too: {before} -> {overdue}")
twice = sql("""SELECT subject_id, COUNT(*) FROM events
               WHERE subject_type = 'deadline' AND action = 'deadline.overdue'
               GROUP BY subject_id HAVING COUNT(*) > 1""")
check(not twice, f"no clock marked overdue twice ({len(twice)} were)")
unmarked = sql("""SELECT d.id FROM deadlines d WHERE d.status = 'overdue' AND NOT EXISTS
                  (SELECT 1 FROM events e WHERE e.subject_type = 'deadline' AND e.subject_id = d.id
                   AND e.action = 'deadline.overdue')""")
check(not unmarked, f"every overdue clock has its overdue event ({len(unmarked)} lack it)")
levels = sql("""SELECT d.id, d.escalation_level, COUNT(e.id) FROM deadlines d
                LEFT JOIN events e ON e.subject_type = 'deadline' AND e.subject_id = d.id
                     AND e.action = 'deadline.escalated'
                GROUP BY d.id, d.escalation_level
                HAVING COUNT(e.id) > d.escalation_level""")
check(not levels, f"no clock escalated more often than the levels it reached ({levels[:3]})")
escalated = int(sql("SELECT COUNT(*) FROM deadlines WHERE escalation_level > 0")[0][0])
check(escalated > 0, f"clocks escalated: {escalated}")
compile_twice = sql("""SELECT subject_type, subject_id, rule, COUNT(*) FROM deadlines
                       WHERE rule LIKE 'visit_plan.compile%'
                       GROUP BY subject_type, subject_id, rule, date_part('year', started_at)
                       HAVING COUNT(*) > 1""")
compiles = int(sql("SELECT COUNT(*) FROM deadlines WHERE rule LIKE 'visit_plan.compile%'")[0][0])
check(compiles > 0 and not compile_twice,
      f"each yearly visit-plan compile clock started once for its subject ({compiles} clocks, twice: {compile_twice})")

if failures:
    sys.exit(f"{len(failures)} check(s) failed")
print("two instances: nothing done twice")
