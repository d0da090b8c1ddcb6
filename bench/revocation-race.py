#!/usr/bin/env python3
"""Tries to keep a working access token through a revocation with refreshes in flight (docs/decisions.md #38).

Against a running provider with the demo data (Development), e.g. on PostgreSQL + Redis:
  bench/revocation-race.py http://127.0.0.1:21449 reuse 15 8      replay each chain's first refresh token while it refreshes
  bench/revocation-race.py http://127.0.0.1:21449 password 3 4    Jeanne changes her password while stolen chains refresh
  CLI=src/CafConnect.Cli/bin/Debug/net10.0/cafconnect.dll CS="Host=...;Database=..." \
    bench/revocation-race.py http://127.0.0.1:21449 incident 5 6  `cafconnect incident revoke` over each round's window
Prints, per round, how many chains or access tokens are still accepted (introspection or userinfo) after the revocation:
0 is the expected answer. The password mode changes Jeanne's password (JEANNE_PASSWORD: the current one, by default the
demo's): run it on a throwaway store."""
import base64, hashlib, html, json, os, re, secrets, subprocess, sys, threading, time
from datetime import datetime, timezone, timedelta
import requests

BASE, MODE, ROUNDS, CHAINS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
NIR = "2850375112048"
CLIENT, SECRET, REDIRECT = "caf-fr", "demo-secret-caf-fr-not-for-production", "http://127.0.0.1:5000/demo/callback"
AUTH = (CLIENT, SECRET)
state = {"password": os.environ.get("JEANNE_PASSWORD", "Soleil2Paris")}

def form_of(page):
    action = re.search(r'<form method="post"[^>]*action="([^"]+)"', page).group(1)
    token = re.search(r'name="__RequestVerificationToken" type="hidden" value="([^"]+)"', page).group(1)
    return html.unescape(action), token

def sign_in():
    s = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = dict(client_id=CLIENT, redirect_uri=REDIRECT, response_type="code", scope="openid profile caf offline_access",
                  state="s", nonce="n", code_challenge=challenge, code_challenge_method="S256")
    r = s.get(BASE + "/connect/authorize", params=params, allow_redirects=False)
    login = BASE + r.headers["Location"] if r.headers["Location"].startswith("/") else r.headers["Location"]
    action, token = form_of(s.get(login).text)
    r = s.post(BASE + action if action.startswith("/") else action, data={"Input.Identifier": NIR, "Input.Password": state["password"],
               "__RequestVerificationToken": token}, allow_redirects=False)
    assert r.status_code == 302, ("login", r.status_code, r.text[:300])
    loc = r.headers["Location"]
    r = s.get(BASE + loc if loc.startswith("/") else loc, allow_redirects=False)
    code = re.search(r"code=([^&]+)", r.headers["Location"]).group(1)
    t = requests.post(BASE + "/connect/token", auth=AUTH, data=dict(grant_type="authorization_code", code=requests.utils.unquote(code),
                      redirect_uri=REDIRECT, code_verifier=verifier)).json()
    return s, t

def refresh_chain(rt, tokens, stop):
    """The thief: refreshes as fast as it can, each time with the newest refresh token, until refused."""
    while not stop.is_set():
        r = requests.post(BASE + "/connect/token", auth=AUTH, data=dict(grant_type="refresh_token", refresh_token=rt))
        if r.status_code != 200:
            tokens.append(("refused", r.status_code, time.time()))
            return
        body = r.json()
        tokens.append((body["access_token"], body.get("refresh_token"), time.time()))
        rt = body["refresh_token"]

def active(at):
    r = requests.post(BASE + "/connect/introspect", auth=AUTH, data={"token": at})
    u = requests.get(BASE + "/connect/userinfo", headers={"Authorization": "Bearer " + at})
    return r.json().get("active"), u.status_code

def change_password(owner):
    page = owner.get(BASE + "/mon-compte/mot-de-passe").text
    action, token = form_of(page)
    new = f"Nuage{secrets.randbelow(10**6):06d}Bordeaux"
    r = owner.post(BASE + action if action.startswith("/") else action, data={"Current": state["password"], "Password": new, "Confirmation": new,
                   "__RequestVerificationToken": token}, allow_redirects=False)
    assert r.status_code in (302, 303), ("change", r.status_code, r.text[:500])
    state["password"] = new

def incident(frm, to):
    cli = os.environ["CLI"]
    out = subprocess.run(["dotnet", cli, "incident", "revoke", "--from", frm.strftime("%Y-%m-%dT%H:%M:%SZ"), "--to", to.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "--provider", "PostgreSql", "--connection-string", os.environ["CS"]], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return re.sub(r"\s+", " ", out.stdout)[-300:]

total_live = 0
if MODE == "reuse":
    survived = 0
    for n in range(ROUNDS):
        firsts = [sign_in()[1]["refresh_token"] for _ in range(CHAINS)]
        stop = threading.Event()
        chains = [[] for _ in range(CHAINS)]
        threads = [threading.Thread(target=refresh_chain, args=(rt, chains[i], stop)) for i, rt in enumerate(firsts)]
        for t in threads: t.start()
        time.sleep(0.3)
        # The replay of the first refresh token (already redeemed by the chain): OpenIddict revokes the authorization's tokens.
        replays = [threading.Thread(target=lambda rt=rt: requests.post(BASE + "/connect/token", auth=AUTH, data=dict(grant_type="refresh_token", refresh_token=rt))) for rt in firsts]
        for t in replays: t.start()
        for t in replays: t.join()
        time.sleep(1.0)
        stop.set()
        for t in threads: t.join()
        live = 0
        for c in chains:
            issued = [e for e in c if e[0] != "refused"]
            if issued and any(active(e[0])[0] for e in issued[-3:]):
                live += 1
        survived += live
        print(f"round {n+1}: {sum(len(c) for c in chains)} refreshes, chains still holding an active access token after the replay: {live}/{CHAINS}", flush=True)
    print("TOTAL chains that survived the replay:", survived)
    sys.exit(0)
for n in range(ROUNDS):
    start = datetime.now(timezone.utc) - timedelta(seconds=2)
    stolen = [sign_in()[1]["refresh_token"] for _ in range(CHAINS)]
    owner, _ = sign_in()
    to = datetime.now(timezone.utc) + timedelta(seconds=2)
    stop = threading.Event()
    chains = [[] for _ in range(CHAINS)]
    threads = [threading.Thread(target=refresh_chain, args=(rt, chains[i], stop)) for i, rt in enumerate(stolen)]
    for t in threads: t.start()
    time.sleep(0.3)
    revoked_at = time.time()
    what = change_password(owner) if MODE == "password" else incident(start, to)
    done_at = time.time()
    time.sleep(0.5)
    stop.set()
    for t in threads: t.join()
    issued = [e for c in chains for e in c if e[0] != "refused"]
    during = [e for e in issued if e[2] >= revoked_at]
    live = [(e[0], active(e[0])) for e in issued]
    live = [(at, a) for at, a in live if a[0] or a[1] == 200]
    total_live += len(live)
    refused = sum(1 for c in chains if c and c[-1][0] == "refused")
    print(f"round {n+1}: {len(issued)} refreshes ({len(during)} answered after the revocation started, revocation took {done_at - revoked_at:.2f}s), "
          f"chains refused {refused}/{CHAINS}, access tokens still accepted after it: {len(live)}", flush=True)
print("TOTAL access tokens still accepted:", total_live)
