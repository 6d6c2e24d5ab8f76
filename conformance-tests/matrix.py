#!/usr/bin/env python3
"""Turns `run`'s result lines into the compatibility matrix (markdown), and with --update
rewrites the tables between `<!-- matrix:begin -->` and `<!-- matrix:end -->` in README.md and
conformance-tests/README.md, so both always show the matrix of the same run.

Usage: matrix.py RESULTS_FILE [--update]
"""
import re
import sys
from pathlib import Path

LINE = re.compile(r"^(PASS|FAIL|SKIP) ([^/ ]+)/([^ :]+)(?::\s*(.*)| \(\d+s\))?$")
SYMBOL = {"PASS": "✅", "FAIL": "❌", "SKIP": "—"}


def parse(text):
    results, reasons = {}, {}
    for line in text.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        status, client, scenario, reason = m.groups()
        results.setdefault(client, {})[scenario] = status
        if status == "SKIP" and reason:
            reasons[(client, scenario)] = reason
    return results, reasons


def render(results, reasons):
    scenarios = []
    for per_client in results.values():
        for s in per_client:
            if s not in scenarios:
                scenarios.append(s)
    rows = ["| scenario | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for s in scenarios:
        cells = [SYMBOL.get(results[c].get(s, ""), "·") for c in results]
        rows.append(f"| {s} | " + " | ".join(cells) + " |")
    notes = [f"- {c} / {s}: {r}" for (c, s), r in reasons.items()]
    legend = (
        "✅ passes against basalt, ❌ fails, — the client cannot do it (reason below), "
        "· not a scenario of this client's script."
    )
    return "\n".join(rows + ["", legend] + ([""] + notes if notes else []))


def update(path, table):
    text = path.read_text()
    new = re.sub(
        r"(<!-- matrix:begin -->\n)(?:.*?\n)?(<!-- matrix:end -->)",
        lambda m: m.group(1) + table + "\n" + m.group(2),
        text,
        flags=re.S,
    )
    if new != text:
        path.write_text(new)


def main():
    results, reasons = parse(Path(sys.argv[1]).read_text())
    table = render(results, reasons)
    print(table)
    if "--update" in sys.argv:
        root = Path(__file__).resolve().parent.parent
        update(root / "README.md", table)
        update(root / "conformance-tests" / "README.md", table)


if __name__ == "__main__":
    main()
