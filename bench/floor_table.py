#!/usr/bin/env python3
"""bench/floor's table: each figure's median over the rounds, with its spread.

Reads the JSON lines bench/floor wrote ({"round", "name", ...figures}), and
what to call the gateway's C rows, and prints one Markdown table: the references (A, B, D), their sum (the floor),
the gateway (C) against it, and the rest.
"""
import json
import os
import statistics
import sys


def main():
    results = {}
    for line in open(sys.argv[1]):
        r = json.loads(line)
        results.setdefault(r["name"], []).append(r)
    c_label = sys.argv[2]
    header = sys.argv[3]

    def values(name, key):
        return [r[key] for r in results.get(name, []) if key in r]

    def med(name, key):
        v = values(name, key)
        return statistics.median(v) if v else float("nan")

    def cell(name, key, unit, digits=3):
        v = values(name, key)
        if not v:
            return "—"
        m = statistics.median(v)
        return (f"{m:.{digits}f} {unit} ({min(v):.{digits}f}–{max(v):.{digits}f})"
                if len(v) > 1 else f"{m:.{digits}f} {unit}")

    floor50 = med("A1", "p50_ms") + med("B", "p50_ms") + 2 * med("D", "p50_ms")
    floor99 = med("A1", "p99_ms") + med("B", "p99_ms") + 2 * med("D", "p99_ms")

    # The ratios per round, so their spread is the rounds' own.
    def ratio_cell(c_name, key):
        ratios = []
        for c, a, b, d in zip(results.get(c_name, []), results.get("A1", []),
                              results.get("B", []), results.get("D", [])):
            ratios.append(c[key] / (a[key] + b[key] + 2 * d[key]))
        if not ratios:
            return "—"
        m = statistics.median(ratios)
        return (f"**{m:.2f} ×** ({min(ratios):.2f}–{max(ratios):.2f})"
                if len(ratios) > 1 else f"**{m:.2f} ×**")

    def refusal_cell(r_name):
        ratios = [r["throughput"] / a["throughput"] for r, a in
                  zip(results.get(r_name, []), results.get("A64", []))]
        return ((f"**{statistics.median(ratios):.2f}** "
                 f"({min(ratios):.2f}–{max(ratios):.2f})") if ratios else "—")

    # The CPU a borrow may take at 10k/s once the load generator and nginx,
    # on the same cores, took theirs.
    def budget_cell(name):
        left = [os.cpu_count() * 100 - r["client_cpu_us_per_call"]
                - r["upstream_cpu_us_per_call"] for r in results.get(name, [])
                if "client_cpu_us_per_call" in r and "upstream_cpu_us_per_call" in r]
        if not left:
            return "—"
        spread = f" ({min(left):.0f}–{max(left):.0f})" if len(left) > 1 else ""
        return (f"{statistics.median(left):.0f} µs{spread}, "
                "against the CPU target of 150 µs + the signature")

    # C: the audit trail in a file; C′: in the journal's commits.
    # minimal: M, which is not the gateway ("its"), has no log line and no
    # run with the callers' own ids.
    def gateway_rows(c, label, r=None, minimal=False):
        r = r or "R" + c[1:]
        its, it = ("its", "it") if minimal else ("the gateway's", "the gateway")
        cpu = "its CPU" if minimal else "gateway CPU"
        rows = [
            (f"{label}: {its} Borrow, 1 caller — p50 / p99",
             cell(c + "1", "p50_ms", "ms") + " / " + cell(c + "1", "p99_ms", "ms")),
            (f"{label} p50 ÷ floor p50 (target ≤ 1.25)", ratio_cell(c + "1", "p50_ms")),
            (f"{label} p99 ÷ floor p99 (target ≤ 2)", ratio_cell(c + "1", "p99_ms")),
            (f"{label}: {cpu} per borrow, 1 caller (utime+stime)",
             cell(c + "1", "cpu_us_per_call", "µs", 0)),
            (f"{label}: 1 caller, every vCPU kept awake by a nice-19 busy loop — p50 / p99",
             cell(c + "1S", "p50_ms", "ms") + " / " + cell(c + "1S", "p99_ms", "ms")),
            (f"{label}: 64 callers over 64 risk units — throughput (target ≥ 10k)",
             cell(c + "64", "throughput", "borrows/s", 0)),
            (f"{label}: 64 callers — p50 / p99",
             cell(c + "64", "p50_ms", "ms", 2) + " / " + cell(c + "64", "p99_ms", "ms", 2)),
        ]
        if not minimal:
            rows.append(
                (f"{label}: 64 callers — the gateway's own time (its handler to its answer) / "
                 "of it, the exchange with nginx — p50",
                 cell(c + "64", "gateway_total_p50_ms", "ms", 2) + " / "
                 + cell(c + "64", "gateway_upstream_p50_ms", "ms", 2)))
        rows.append((f"{label}: {cpu} per borrow, 64 callers",
                     cell(c + "64", "cpu_us_per_call", "µs", 0)))
        if not minimal:
            rows.append(
                (f"{label}: 64 callers, each borrow with the caller's own random "
                 "(version 4) request_id — throughput / gateway CPU per borrow",
                 cell(c + "64V4", "throughput", "borrows/s", 0) + " / "
                 + cell(c + "64V4", "cpu_us_per_call", "µs", 0)))
        return rows + [
            (f"{label}: 64 callers — the load generator's / nginx's CPU per borrow",
             cell(c + "64", "client_cpu_us_per_call", "µs", 0) + " / "
             + cell(c + "64", "upstream_cpu_us_per_call", "µs", 0)),
            (f"{label}: what 10k borrows/s would leave {it} on these cores "
             "(cores × 100 µs − load generator − nginx)", budget_cell(c + "64")),
            (f"{label}: local refusals (invalid amount), 64 callers — throughput",
             cell(r + "64", "throughput", "calls/s", 0)),
            (f"{label}: local refusals ÷ echo throughput (target ≥ 0.60)",
             refusal_cell(r + "64")),
            (f"{label}: local refusals — {its} / the load generator's CPU per refusal",
             cell(r + "64", "cpu_us_per_call", "µs", 0) + " / "
             + cell(r + "64", "client_cpu_us_per_call", "µs", 0)),
        ]

    rows = [
        ("A: bare gRPC echo, 1 caller, mutual TLS — p50 / p99",
         cell("A1", "p50_ms", "ms") + " / " + cell("A1", "p99_ms", "ms")),
        ("A: 1 caller, every vCPU kept awake by a nice-19 busy loop — p50 / p99",
         cell("A1S", "p50_ms", "ms") + " / " + cell("A1S", "p99_ms", "ms")),
        ("A: bare gRPC echo, 64 callers — throughput",
         cell("A64", "throughput", "calls/s", 0)),
        ("A: 64 callers — the load generator's CPU per echo",
         cell("A64", "client_cpu_us_per_call", "µs", 0)),
        ("A′: the same echo answered from another thread, as the gateway answers — p50 / p99",
         cell("E1", "p50_ms", "ms") + " / " + cell("E1", "p99_ms", "ms")),
        ("A′: 64 callers — throughput",
         cell("E64", "throughput", "calls/s", 0)),
        ("one hand-off to an idle executor thread (Post → start) — p50 / p99",
         cell("H", "journal_p50_us", "µs", 1) + " / " + cell("H", "journal_p99_us", "µs", 1)),
        ("B: one HTTPS keep-alive POST to nginx (libcurl) — p50 / p99",
         cell("B", "p50_ms", "ms") + " / " + cell("B", "p99_ms", "ms")),
        ("B′: the same POST through the gateway's transport (CurlMultiTransport) — p50 / p99",
         cell("B2", "p50_ms", "ms") + " / " + cell("B2", "p99_ms", "ms")),
        ("D: one durable SQLite commit (WAL, synchronous=FULL) — p50 / p99",
         cell("D", "p50_ms", "ms") + " / " + cell("D", "p99_ms", "ms")),
        ("floor = A + B + 2·D — p50 / p99",
         f"{floor50:.3f} ms / {floor99:.3f} ms"),
    ]
    if "C1" in results:
        rows += gateway_rows("C", c_label)
    if "CJ1" in results:
        rows += gateway_rows("CJ", "C′ (audit in the journal)")
    # M: the floor's parts composed with the gateway's own parts and none of
    # its features; M0: the same, all on gRPC's thread (one caller).
    if "M1" in results:
        m = "M (the gateway's parts and threads, none of its features)"
        m0 = "M0 (the same, every stage on gRPC's thread)"
        rows += gateway_rows("M", m, "RM", minimal=True)
        rows += [
            (f"{m0}: 1 caller — p50 / p99",
             cell("M01", "p50_ms", "ms") + " / " + cell("M01", "p99_ms", "ms")),
            (f"{m0} p50 ÷ floor p50", ratio_cell("M01", "p50_ms")),
            (f"{m0} p99 ÷ floor p99", ratio_cell("M01", "p99_ms")),
            (f"{m0}: CPU per borrow, 1 caller", cell("M01", "cpu_us_per_call", "µs", 0)),
            (f"{m0}: 1 caller, every vCPU kept awake by a nice-19 busy loop — p50 / p99",
             cell("M01S", "p50_ms", "ms") + " / " + cell("M01S", "p99_ms", "ms")),
        ]
    rows.append(
        ("the project's Python fake, GET /api/v3/time, 64 at once — its ceiling",
         cell("F64", "throughput", "requests/s", 0)))
    print(header)
    print()
    print("| figure (median of rounds, spread in brackets) | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    bad = {n: r["codes"] for n, rs in results.items() for r in rs
           if "codes" in r and any(k not in ("0", "3") for k in r["codes"])}
    if bad:
        print(f"\nunexpected gRPC codes: {bad}")


if __name__ == "__main__":
    main()
