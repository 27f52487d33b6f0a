#!/usr/bin/env python3
"""Validates an allocmark results file against results/schema.json.

Usage: validate_results.py RESULTS.json [SCHEMA.json]. Exit 0 valid, 1 invalid,
2 unreadable input. Uses Debian's python3-jsonschema only.
"""
import json
import pathlib
import sys

import jsonschema


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    schema_path = pathlib.Path(sys.argv[2] if len(sys.argv) == 3 else
                               pathlib.Path(__file__).parent.parent / "results" / "schema.json")
    try:
        schema = json.loads(schema_path.read_text())
        doc = json.loads(pathlib.Path(sys.argv[1]).read_text())
    except (OSError, ValueError) as e:
        print(f"validate_results: {e}", file=sys.stderr)
        return 2
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:10]:
        print(f"{sys.argv[1]}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
