#!/usr/bin/env python3
"""Turns the drill's request log (CSV) and fault times into the markdown report: per phase, requests, errors by kind, p50/p99."""
import csv, json, sys, collections

csv_path, events_path, summary_json, out_path = sys.argv[1:5]
results = json.load(open(sys.argv[5])) if len(sys.argv) > 5 else None
summary = json.loads(summary_json)
t0 = summary["t0"]
events = []
with open(events_path) as f:
    for line in f:
        epoch, name = line.strip().split(" ", 1)
        events.append((float(epoch) - t0, name))
rows = list(csv.DictReader(open(csv_path)))
end = max([float(r["t"]) for r in rows] + [0]) + 0.001
bounds = [(0.0, "baseline")] + [(t, name) for t, name in events if t >= 0]
phases = [(start, bounds[i + 1][0] if i + 1 < len(bounds) else end, name) for i, (start, name) in enumerate(bounds)]


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


lines = ["| phase (s from load start) | requests | ok | errors by kind | p50 ms | p99 ms |", "| --- | ---: | ---: | --- | ---: | ---: |"]
for start, stop, name in phases:
    inside = [r for r in rows if start <= float(r["t"]) < stop]
    ok = [r for r in inside if r["outcome"][:1] in "23"]
    errors = collections.Counter(f'{r["step"]} → {r["outcome"]}' for r in inside if r["outcome"][:1] not in "23")
    kinds = "; ".join(f"{k}: {v}" for k, v in errors.most_common(8)) or "none"
    ms = [float(r["ms"]) for r in inside]
    lines.append(f"| {name} ({start:.0f}–{stop:.0f}) | {len(inside)} | {len(ok)} | {kinds} | {pct(ms, 50):.0f} | {pct(ms, 99):.0f} |")
server_errors = sum(1 for r in rows if r["outcome"].startswith("5"))
with open(out_path, "a") as out:
    out.write("\n".join(lines) + "\n\n")
    out.write(f"- requests: {len(rows)}; answers 5xx: {server_errors} "
              f"(500: {sum(1 for r in rows if r['outcome'] == '500')}, 502: {sum(1 for r in rows if r['outcome'] == '502')}, "
              f"503: {sum(1 for r in rows if r['outcome'] == '503')}); network errors: {sum(1 for r in rows if not r['outcome'][:1].isdigit())}\n")
    out.write(f"- another person's data (ID token or userinfo `sub` differing from the person's): **{summary['mismatch_count']}**"
              + ("" if not summary["mismatches"] else f" — {summary['mismatches']}") + "\n")
    if results is not None:
        first = results["first_logins"]
        out.write(f"\nFirst logins with the file's old code ({first['persons']} persons imported, each once): {first['started']} started, "
                  f"{first['completed']} completed, failed: {'; '.join(f'{k}: {v}' for k, v in first['failed'].items()) or 'none'}; "
                  f"reloads after a transient failure: {first['reloads_after_transient_failures']}; codes asked again: {first['codes_asked_again']}; "
                  f"signed in again with the new password after a lost answer to the last step: {first['signed_in_again_after_a_lost_answer']}; "
                  f"code exchanges that met a fault, redone with a new code: {first.get('codes_exchanged_again_after_a_fault', 0)}; "
                  f"answers 500: {first['status_500']}.\n\n")
        out.write("| phase | first logins started | completed | failed (by kind) | completed journeys under way in the phase |\n| --- | ---: | ---: | --- | ---: |\n")
        for phase in results["phases"]:
            failed = "; ".join(f"{k}: {v}" for k, v in phase["first_logins_failed"].items()) or "none"
            out.write(f"| {phase['name']} ({phase['from']:.0f}–{phase['to']:.0f}) | {phase['first_logins_started']} | {phase['first_logins_completed']} | {failed} | {phase['first_logins_through']} |\n")
        outage = results["readiness_during_gateways_outage"]
        out.write(f"\n- readiness of instance 1 while the gateways were down ({outage['samples']} samples, one a second): HTTP {outage['http']}, "
                  f"status {outage['status']}, first Degraded {outage['first_degraded_after_s']} s after the gateways stopped; reason: « {outage['reason']} »\n")
