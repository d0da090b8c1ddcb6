"""The fault drill's machine-readable results (results.json next to report.md), read by the CI test
(tests/CafConnect.IdP.Tests/Operations/FaultDrillTests.cs). Arguments: requests.csv, events.txt, the load's summary
JSON file, the stand-ins' received.txt, the outbox counts "created|sent|given up|waiting" and the readiness line."""
import csv
import json
import sys

requests_csv, events_txt, summary_json, received_txt, outbox, ready = sys.argv[1:7]
summary = json.load(open(summary_json))
t0 = summary["t0"]
rows = [(float(r["t"]), r["step"], r["outcome"]) for r in csv.DictReader(open(requests_csv))]
events = sorted((float(line.split(" ", 1)[0]) - t0, line.split(" ", 1)[1].strip()) for line in open(events_txt) if line.strip())
end = max([t for t, _, _ in rows] + [0]) + 1

# A round is complete when the userinfo of its refreshed access token answered 200 (its last request).
completed = [t for t, step, outcome in rows if step == "userinfo (refreshed)" and outcome == "200"]
bounds = [(0.0, "baseline")] + events
phases = []
for i, (start, name) in enumerate(bounds):
    stop = bounds[i + 1][0] if i + 1 < len(bounds) else end
    phases.append({"name": name, "from": round(start, 1), "to": round(stop, 1),
                   "requests": sum(1 for t, _, _ in rows if start <= t < stop),
                   "completed_rounds": sum(1 for t in completed if start <= t < stop)})

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
    "phases": phases,
}, indent=2))
