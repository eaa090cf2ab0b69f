#!/usr/bin/python3
"""Writes the results table of docs/reliability.md from the JSON lines the fault scenarios
append to $CUSTOS_FAULTS_RESULTS (tests/faults/run.sh). Everything in the document between the
two marker lines is replaced; the rest (the prose) is kept."""
import datetime
import json
import platform
import sys

BEGIN = "<!-- results: written by tests/faults/run.sh -->"
END = "<!-- end of results -->"


def mode(r):
    parts = ["sync" if r.get("synchronous_mode") else "async"]
    if r.get("failsafe_mode"):
        parts.append("failsafe")
    if r.get("watchdog"):
        parts.append("watchdog")
    if r.get("tls") is False:
        parts.append("no TLS")
    return ", ".join(parts)


def main(results_path, doc_path):
    rows = [json.loads(line) for line in open(results_path) if line.strip()]
    out = [BEGIN, "",
           "Run of %s on %s (%s); three nodes, three etcd members, TLS (unless the mode says no TLS), "
           "ttl 20 s, loop_wait 2 s, retry_timeout 3 s." % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
                                   platform.node() or "this machine", platform.machine()),
           "",
           "| Scenario | Mode | Dual-primary ms | Lost acknowledged commits | Longest write gap (s) | "
           "Acknowledged commits | Expected | Result |",
           "|---|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        out.append("| %s | %s | %d | %d | %.2f | %d | %s | %s |" % (
            r["scenario"], mode(r), r["dual_primary_ms"], r["lost"], r["max_unavailable_s"], r["acknowledged"],
            r.get("expectation", ""), "passed" if r.get("passed") else "FAILED"))
    out += ["", END]
    try:
        doc = open(doc_path).read()
    except FileNotFoundError:
        doc = "# Reliability\n\n%s\n%s\n" % (BEGIN, END)
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        doc = head + "\n".join(out) + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + "\n".join(out) + "\n"
    open(doc_path, "w").write(doc)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
