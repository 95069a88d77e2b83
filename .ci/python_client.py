"""Generates the Python client (openapi-python-client) from the committed spec
and fails when the generator warns or when two generated models are the same
shape under two names (an inlined schema next to the one it copies, e.g.
`ListResponseProjectViewItemsItem` beside `ProjectView`).

    python3 .ci/python_client.py openapi/openapi.json
"""
import ast
import pathlib
import subprocess
import sys
import tempfile


def shape(tree: ast.ClassDef):
    """The class's annotated fields, or an enum's members, as comparable text."""
    fields = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            fields.append((node.target.id, ast.unparse(node.annotation)))
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            fields.append((node.targets[0].id, ast.unparse(node.value)))
    return tuple(sorted(fields))


def main() -> int:
    spec = pathlib.Path(sys.argv[1]).resolve()
    out = pathlib.Path(tempfile.mkdtemp(prefix="aftercare-pyclient-"))
    run = subprocess.run(
        ["openapi-python-client", "generate", "--path", str(spec), "--output-path", str(out / "client"),
         "--overwrite"],
        capture_output=True, text=True)
    print(run.stdout.strip())
    # the generator prints its warnings on stderr (e.g. a response whose
    # content type it cannot read, left out of the client)
    said = run.stdout + run.stderr
    if run.returncode != 0 or any(w in said for w in ("Warning", "WARNING", "Error", "ERROR")):
        print(run.stderr, file=sys.stderr)
        print("the generator failed or warned", file=sys.stderr)
        return 1
    seen = {}
    duplicates = []
    models = list(out.glob("client/*/models/*.py"))
    for path in models:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                key = shape(node)
                if key and key in seen:
                    duplicates.append((seen[key], node.name))
                seen.setdefault(key, node.name)
    for a, b in duplicates:
        print(f"duplicate models: {a} and {b} have the same fields", file=sys.stderr)
    print(f"{len(models) - 1} models, {len(duplicates)} duplicates")
    return 1 if duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
