#!/usr/bin/env python3
"""Two instances on one PostgreSQL database deliver every webhook exactly
once, and every delivery verifies with the Standard Webhooks reference
library (the `standardwebhooks` package); a tampered body, a forged
signature and a timestamp more than five minutes off are refused by it.

usage: webhooks_check.py BASE_A BASE_B ADMIN_PASSWORD RECEIVER_PORT
"""
import base64
import collections
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time
import urllib.request

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

BASE_A, BASE_B, PASSWORD, PORT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
RECORDS = 60

received = []
lock = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        with lock:
            received.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


token = call(BASE_A, "POST", "/api/v1/auth/login", body={"username": "admin", "password": PASSWORD})["access_token"]
made = call(BASE_A, "POST", "/api/v1/webhooks", token, {
    "url": f"http://127.0.0.1:{PORT}/hook",
    "event_types": ["org_unit.created", "customer.created"],
})
secret, hook = made["secret"], made["webhook"]["id"]
group = call(BASE_A, "POST", "/api/v1/org-units", token, {"name": "集团 Group", "kind": "group"})["id"]
branch = call(BASE_B, "POST", "/api/v1/org-units", token, {"name": "分公司 Branch", "kind": "branch", "parent_id": group})["id"]
for i in range(RECORDS):
    base = BASE_A if i % 2 == 0 else BASE_B
    call(base, "POST", "/api/v1/customers", token, {"name": f"业主 Owner {i}", "kind": "owner_organisation", "branch_id": branch})
expected = RECORDS + 2

deadline = time.time() + 90
while time.time() < deadline:
    with lock:
        if len(received) >= expected:
            break
    time.sleep(0.5)
time.sleep(3)  # anything sent twice would arrive by now

with lock:
    got = list(received)
ids = collections.Counter(h["webhook-id"] for h, _ in got)
twice = {k: v for k, v in ids.items() if v > 1}
assert len(ids) == expected, f"{len(ids)} distinct deliveries, expected {expected}"
assert not twice, f"delivered more than once: {twice}"

wh = Webhook(secret)
key = base64.b64decode(secret.removeprefix("whsec_"))
for headers, body in got:
    h = {k.lower(): v for k, v in headers.items()}
    payload = wh.verify(body, h)
    assert payload["type"] in ("org_unit.created", "customer.created"), payload
    assert payload["data"]["object"]["id"] == payload["data"]["subject_id"], payload
    try:
        wh.verify(body[:-1] + b', "tampered": true}', h)
        raise AssertionError("a tampered body verified")
    except WebhookVerificationError:
        pass
    forged = dict(h, **{"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()})
    try:
        wh.verify(body, forged)
        raise AssertionError("a forged signature verified")
    except WebhookVerificationError:
        pass
    # signed rightly, but ten minutes ago: too old
    old = str(int(time.time()) - 600)
    sig = base64.b64encode(hmac.new(key, f"{h['webhook-id']}.{old}.".encode() + body, hashlib.sha256).digest()).decode()
    try:
        wh.verify(body, dict(h, **{"webhook-timestamp": old, "webhook-signature": f"v1,{sig}"}))
        raise AssertionError("a timestamp ten minutes old verified")
    except WebhookVerificationError:
        pass

page = call(BASE_B, "GET", f"/api/v1/webhooks/{hook}/deliveries?limit=200", token)
statuses = collections.Counter((d["status"], d["attempts"]) for d in page["items"])
assert statuses == {("delivered", 1): expected}, statuses
print(f"{expected} deliveries from two instances: each sent once, each verified by standardwebhooks; "
      "tampered bodies, forged signatures and old timestamps refused")
