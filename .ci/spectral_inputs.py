#!/usr/bin/env python3
"""Spectral's OWASP findings on what clients send: request bodies,
parameters and headers, and every schema they reach. Exits non-zero when
any of them is an error (severity 0). Findings on answers are listed as a
count only: the server writes those, the rules bound what it reads.

usage: spectral_inputs.py openapi.json spectral-findings.json
"""
import collections
import json
import sys

spec = json.load(open(sys.argv[1]))
findings = json.load(open(sys.argv[2]))


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            out.add(r.rsplit("/", 1)[1])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


# the schemas a request reaches, transitively
inputs = set()
for item in spec.get("paths", {}).values():
    for op in item.values():
        if isinstance(op, dict):
            refs(op.get("requestBody", {}), inputs)
            refs(op.get("parameters", []), inputs)
schemas = spec.get("components", {}).get("schemas", {})
todo = list(inputs)
while todo:
    name = todo.pop()
    found = set()
    refs(schemas.get(name, {}), found)
    for f in found - inputs:
        inputs.add(f)
        todo.append(f)


def on_input(path):
    if len(path) >= 4 and path[0] == "paths":
        return path[3] in ("parameters", "requestBody")
    if len(path) >= 3 and path[0] == "paths":
        return path[2] == "parameters"
    if len(path) >= 3 and path[:2] == ["components", "schemas"]:
        return path[2] in inputs
    return False


bad = [f for f in findings if f["severity"] == 0 and on_input(f["path"])]
answers = collections.Counter(f["code"] for f in findings if f["severity"] == 0 and not on_input(f["path"]))
for f in bad:
    print(f'{f["code"]}: {"/".join(map(str, f["path"]))}: {f["message"]}')
print(f"{len(bad)} error(s) on inputs; on answers: {dict(answers) or 'none'}")
sys.exit(1 if bad else 0)
