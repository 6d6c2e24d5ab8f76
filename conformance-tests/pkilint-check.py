#!/usr/bin/env python3
"""Runs pkilint's RFC 5280 linter on one certificate (lint_pkix_cert) or, with --crl, on one
CRL (lint_crl, RFC 5280 profile), and fails on any ERROR or FATAL finding, with one narrow
exception for certificates.

pkilint checks dNSName syntax with the Python `validators.domain`, which demands a top-level
domain and no wildcard label, so it flags `localhost` and every wildcard name. RFC 5280
§4.2.1.6 only asks for RFC 1034 §3.5 preferred name syntax (which single-label names meet) and
leaves wildcards to other specifications (RFC 6125 §6.4.3); pkilint's own CA/B Forum linter
filters this very finding for that reason (DnsNameGeneralNamePreferredNameSyntaxFilter). So a
`pkix.invalid_domain_name_syntax` finding is tolerated only when the flagged name is valid
LDH syntax, optionally with a single leading `*.` label. Everything else fails.

Usage: pkilint-check.py FILE.pem | pkilint-check.py --crl FILE (PEM or DER)
"""
import json
import re
import subprocess
import sys

LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
LDH_NAME = re.compile(rf"^(\*\.)?{LABEL}(\.{LABEL})*$")
NAME_IN_MESSAGE = re.compile(r'Invalid domain name syntax: "(.*)"$')


def tolerated(finding):
    if finding["code"] != "pkix.invalid_domain_name_syntax":
        return False
    match = NAME_IN_MESSAGE.search(finding["message"])
    return bool(match) and len(match.group(1)) <= 253 and bool(LDH_NAME.match(match.group(1)))


# The linter and its arguments: a certificate, or a CRL (not an ARL) against RFC 5280 (PKIX)
# rather than the CA/B Forum Baseline Requirements.
CERTIFICATE = ["lint_pkix_cert", "lint"]
CRL = ["lint_crl", "lint", "-t", "CRL", "-p", "PKIX"]


def main(path, linter=CERTIFICATE):
    run = subprocess.run(
        [*linter, "-s", "ERROR", "-f", "JSON", path],
        capture_output=True, text=True, check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"pkilint did not lint {path}: {run.stdout}{run.stderr}", file=sys.stderr)
        return 1
    failures = [
        (result["node_path"], finding)
        for result in report.get("results", [])
        for finding in result["finding_descriptions"]
        if finding["severity"] in ("ERROR", "FATAL") and not tolerated(finding)
    ]
    for node, finding in failures:
        print(f"{path}: {finding['severity']} {finding['code']} at {node}: {finding['message']}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--crl":
        sys.exit(main(sys.argv[2], CRL))
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    sys.exit(main(sys.argv[1]))
