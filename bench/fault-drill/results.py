"""The fault drill's machine-readable results (results.json next to report.md), read by the CI test
(tests/CafConnect.IdP.Tests/Operations/FaultDrillTests.cs). Arguments: requests.csv, events.txt, the load's summary
JSON file, the stand-ins' received.txt, the outbox counts "created|sent|given up|waiting", the readiness line and the
readiness samples taken while the gateways were down (lines: time, HTTP status, JSON detail, tab-separated)."""
import collections
import csv
import json
import sys

requests_csv, events_txt, summary_json, received_txt, outbox, ready, readiness_tsv = sys.argv[1:8]
summary = json.load(open(summary_json))
t0 = summary["t0"]
rows = [(float(r["t"]), r["step"], r["outcome"]) for r in csv.DictReader(open(requests_csv))]
events = sorted((float(line.split(" ", 1)[0]) - t0, line.split(" ", 1)[1].strip()) for line in open(events_txt) if line.strip())
end = max([t for t, _, _ in rows] + [0]) + 1

# A round is complete when the userinfo of its refreshed access token answered 200 (its last request).
completed = [t for t, step, outcome in rows if step == "userinfo (refreshed)" and outcome == "200"]
# First logins (one journey per imported person): started in the phase, ended in it (completed, or failed by kind),
# and "through": completed journeys that were under way at some moment of the phase (started before its end, ended
# after its start): a journey in progress when the fault struck, or started during it, that reached the relying party.
journeys = summary.get("first_logins", [])
bounds = [(0.0, "baseline")] + events
phases = []
for i, (start, name) in enumerate(bounds):
    stop = bounds[i + 1][0] if i + 1 < len(bounds) else end
    ended = [j for j in journeys if start <= j["ended"] < stop]
    phases.append({"name": name, "from": round(start, 1), "to": round(stop, 1),
                   "requests": sum(1 for t, _, _ in rows if start <= t < stop),
                   "completed_rounds": sum(1 for t in completed if start <= t < stop),
                   # Sign-in rounds under way at some moment of the phase that completed (short phases on a loaded
                   # machine may be shorter than a round).
                   "rounds_through": sum(1 for began, ended in summary.get("rounds", []) if began < stop and ended >= start),
                   "first_logins_started": sum(1 for j in journeys if start <= j["started"] < stop),
                   "first_logins_completed": sum(1 for j in ended if j["outcome"] == "completed"),
                   "first_logins_failed": dict(collections.Counter(j["outcome"] for j in ended if j["outcome"] != "completed")),
                   "first_logins_through": sum(1 for j in journeys if j["outcome"] == "completed" and j["started"] < stop and j["ended"] >= start)})
def sample(line):
    at, http, body = (line.rstrip("\n").split("\t", 2) + ["", ""])[:3]
    try:
        detail = json.loads(body)
    except ValueError:
        detail = {}
    return {"t": float(at), "http": http, "status": detail.get("status", "unreadable"),
            "outbox": detail.get("checks", {}).get("outbox", {}).get("description"),
            "not_healthy": [name for name, check in detail.get("checks", {}).items() if check.get("status") != "Healthy"]}


samples = [sample(line) for line in open(readiness_tsv) if line.strip()]
reasons = [s["outbox"] for s in samples if s["status"] == "Degraded" and s.get("outbox")]

rotated = next((t for t, name in events if name.startswith("keys rotated")), None)
# After the rotation, a token the provider issued must be accepted: userinfo and refresh never answer 400/401.
token_steps = {"userinfo", "userinfo (refreshed)", "token (refresh)", "token (code)"}
refused = [{"t": t, "step": step, "outcome": outcome} for t, step, outcome in rows
           if rotated is not None and t >= rotated and step in token_steps and outcome in ("400", "401", "403")]

received = [line.split() for line in open(received_txt) if line.strip()]
keys = [(parts[1], parts[2] if len(parts) > 2 else "") for parts in received]
created, sent, failed, waiting = (int(x) for x in outbox.split("|"))
print(json.dumps({
    "requests": len(rows),
    "status_500": sum(1 for _, _, outcome in rows if outcome == "500"),
    "status_5xx": sum(1 for _, _, outcome in rows if outcome.startswith("5")),
    "other_persons_data": summary["mismatch_count"],
    "mismatches": summary["mismatches"],
    "rotation_at": None if rotated is None else round(rotated, 1),
    "kids": summary["kids"],
    "tokens_refused_after_rotation": len(refused),
    "refused": refused[:20],
    "recoveries": summary["recoveries"],
    "recoveries_failed": summary["recoveries_failed"],
    "outbox": {"created": created, "sent": sent, "given_up": failed, "waiting": waiting},
    "messages_received": len(received),
    "messages_received_more_than_once": len(keys) - len(set(keys)),
    "readiness": ready.strip(),
    "readiness_during_gateways_outage": {
        "samples": len(samples),
        "http": dict(collections.Counter(s["http"] for s in samples)),
        "status": dict(collections.Counter(s["status"] for s in samples)),
        "first_degraded_after_s": next((round(s["t"] - t0 - next((t for t, n in events if n.startswith("SMTP and SMS gateways down")), 0), 1)
                                        for s in samples if s["status"] == "Degraded"), None),
        "reason": reasons[-1] if reasons else None,
        "unhealthy_checks": sorted({name for s in samples if s["status"] == "Unhealthy" for name in s["not_healthy"]}),
    },
    "first_logins": {
        "persons": summary.get("first_login_persons", 0),
        "started": len(journeys),
        "completed": sum(1 for j in journeys if j["outcome"] == "completed"),
        "failed": dict(collections.Counter(j["outcome"] for j in journeys if j["outcome"] != "completed")),
        "reloads_after_transient_failures": sum(j["transient"] for j in journeys),
        "codes_asked_again": sum(j["resent"] for j in journeys),
        "signed_in_again_after_a_lost_answer": sum(j.get("signed_in_again", 0) for j in journeys),
        "codes_exchanged_again_after_a_fault": sum(j.get("tokens_again", 0) for j in journeys),
        "status_500": sum(1 for _, step, outcome in rows if step.startswith("first login") and outcome == "500"),
    },
    "phases": phases,
}, indent=2))
