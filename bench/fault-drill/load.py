#!/usr/bin/env python3
"""Steady sign-in load for the fault drill (bench/fault-drill.sh), against nginx on 127.0.0.1 only.

Each worker loops until the deadline: authorize (PKCE) -> login page -> credentials -> authorize -> code -> token ->
userinfo -> refresh -> userinfo, as one of the demo persons, in a fresh browser (cookie jar). Every request is
recorded (time, step, outcome, latency) to a CSV; every userinfo answer is checked against the person who typed the
password (the `sub` of their first round): a mismatch is another person's data. Bounded in time and in requests.
The `kid` of every ID token is noted (first and last time seen), to show when a rotated key starts signing.
Between DRILL_MESSAGES_FROM and DRILL_MESSAGES_TO (seconds from the start), a messenger starts a password recovery
every 5 s as one of 4 other demo persons and asks the code again by e-mail: an SMS and an e-mail through the outbox.

First-login workers (DRILL_FIRST_LOGIN_WORKERS, 2) each take, in turn, a person the drill imported for that purpose
(DRILL_FIRST_LOGINS: a JSON list of NIR, the file's old 8-digit code, mobile on record, birth name) and do « la
bascule » as a browser does: authorize -> login with the NIR and the old code -> « Première connexion » -> terms ->
new password -> contact (the mobile on record) -> the 6-digit code the SMS stand-in received (bench/fault-drill/sinks.py,
GET /inbox) -> back to authorize -> code -> token -> userinfo (scope phone), whose name and mobile must be that
person's, the mobile verified. Every form
is read from its page with its anti-forgery token; the flow lives on the server (the URL carries only its id), so the
journey is driven by the page the server shows: after a transient failure (network error, 502, 503, 504) the person
reloads the flow's page after a second and goes on from the step the server says, on whichever instance nginx picks,
for up to DRILL_TRANSIENT_BUDGET seconds from the first failure of that step. A person who has no new SMS after
DRILL_CODE_PATIENCE seconds (or whose code is refused) asks for a new one, as the page offers, at most 3 times. When the
relying party's code exchange meets a fault (502: the instance died under it), the person is sent to sign in again and,
still signed in at the provider, comes back with a new code. A person does their first login once: a journey that
fails is not retried with that person.
"""
import base64, csv, hashlib, http.client, json, os, re, secrets, ssl, sys, threading, time, urllib.parse, urllib.request

HOST, PORT = "127.0.0.1", int(os.environ["DRILL_NGINX_PORT"])
DEADLINE = time.time() + float(os.environ.get("DRILL_SECONDS", "150"))
DEADLINE_FILE = os.environ.get("DRILL_DEADLINE_FILE", "")


def deadline():
    """DRILL_SECONDS from the start, or later if the drill wrote a later end (an epoch) to DRILL_DEADLINE_FILE: a fault
    that came late on a loaded machine still gets load after it."""
    try:
        return max(DEADLINE, float(open(DEADLINE_FILE).read())) if DEADLINE_FILE else DEADLINE
    except (OSError, ValueError):
        return DEADLINE
WORKERS = int(os.environ.get("DRILL_WORKERS", "6"))
MAX_REQUESTS = int(os.environ.get("DRILL_MAX_REQUESTS", "200000"))
OUT = os.environ["DRILL_CSV"]
CLIENT_ID, SECRET, REDIRECT = "drill", "drill-secret-not-for-production-0123456789", "https://rp.drill.test/callback"
PERSONS = [("2 85 03 75 112 048", "Soleil2Paris"), ("1 83 11 75 115 230", "Riviere7Lyon"),
           ("2 92 07 69 383 017", "Montagne4Nice"), ("1 88 06 33 063 042", "Cedre5Bordeaux")]
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the drill's own self-signed certificate on loopback
lock = threading.Lock()
rows, subs, mismatches, counter, kids = [], {}, [], [0], {}
MESSAGES_FROM = float(os.environ.get("DRILL_MESSAGES_FROM", "-1"))
MESSAGES_TO = float(os.environ.get("DRILL_MESSAGES_TO", "-1"))
RECOVERING = ["1 78 04 13 055 123", "2 80 09 13 055 456", "2 85 03 75 112 048", "1 83 11 75 115 230"]
recoveries = [0, 0]
FIRST_LOGIN_WORKERS = int(os.environ.get("DRILL_FIRST_LOGIN_WORKERS", "2"))
FIRST_LOGINS = json.load(open(os.environ["DRILL_FIRST_LOGINS"])) if os.environ.get("DRILL_FIRST_LOGINS") else []
SMS_INBOX = os.environ.get("DRILL_SMS_INBOX", "")
FIRST_PASSWORD = "Bascule7Drome"
TRANSIENT_BUDGET = float(os.environ.get("DRILL_TRANSIENT_BUDGET", "75"))  # seconds a journey keeps reloading through a fault
first_logins, next_first_login, rounds = [], [0], []  # rounds: (started, ended) of each completed sign-in round  # (started, ended, outcome, transient failures) per journey
T0 = time.time()


class Step(Exception):
    pass


def request(cookies, method, path, body=None, headers=None, step=""):
    with lock:
        if counter[0] >= MAX_REQUESTS:
            raise SystemExit
        counter[0] += 1
    headers = dict(headers or {})
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(body)
    started = time.time()
    outcome, response, data = "", None, b""
    try:
        connection = http.client.HTTPSConnection(HOST, PORT, timeout=15, context=TLS)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        outcome = str(response.status)
    except Exception as error:  # network errors are outcomes of the drill, not of this script
        outcome = type(error).__name__
    with lock:
        rows.append((round(started - T0, 3), step, outcome, round((time.time() - started) * 1000, 1)))
    if response is None:
        raise Step(outcome)
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            if "expires=thu, 01 jan 1970" in value.lower() or val == "":
                cookies.pop(key, None)
            else:
                cookies[key] = val
    return response, data.decode("utf-8", "replace")


def expect(response, statuses, step):
    if response.status not in statuses:
        raise Step(f"{step}:{response.status}")


def token(cookies, form, step):
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    response, body = request(cookies, "POST", "/connect/token", form, {"Authorization": "Basic " + basic}, step)
    expect(response, (200,), step)
    return json.loads(body)


def claims(jwt):
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def round_of(person):
    identifier, password = person
    cookies = {}
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code",
                                    "scope": "openid profile caf offline_access", "state": secrets.token_hex(8),
                                    "nonce": secrets.token_hex(8), "code_challenge": challenge, "code_challenge_method": "S256"})
    response, _ = request(cookies, "GET", "/connect/authorize?" + query, step="authorize (challenge)")
    expect(response, (302,), "authorize (challenge)")
    login_url = urllib.parse.urlsplit(response.getheader("Location"))
    response, html = request(cookies, "GET", login_url.path + "?" + login_url.query, step="login page")
    expect(response, (200,), "login page")
    action = re.search(r'<form method="post"[^>]*action="([^"]+)"', html)
    antiforgery = re.search(r'name="__RequestVerificationToken" type="hidden" value="([^"]+)"', html)
    if not action or not antiforgery:
        raise Step("login page:no form")
    response, _ = request(cookies, "POST", action.group(1).replace("&amp;", "&"),
                          {"Input.Identifier": identifier, "Input.Password": password, "__RequestVerificationToken": antiforgery.group(1)},
                          step="login POST")
    expect(response, (302,), "login POST")
    back = urllib.parse.urlsplit(response.getheader("Location"))
    response, _ = request(cookies, "GET", back.path + "?" + back.query, step="authorize (code)")
    expect(response, (302,), "authorize (code)")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(response.getheader("Location")).query).get("code", [None])[0]
    if not code:
        raise Step("authorize (code):no code")
    tokens = token({}, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}, "token (code)")
    sub = claims(tokens["id_token"])["sub"]
    kid = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[0] + "==="))["kid"]
    with lock:
        seen = kids.setdefault(kid, [round(time.time() - T0, 1), 0])
        seen[1] = round(time.time() - T0, 1)
    with lock:
        known = subs.setdefault(identifier, sub)
    if known != sub:
        mismatches.append(f"{identifier}: id_token sub {sub} != {known}")
    for access, step in ((tokens["access_token"], "userinfo"), (None, "refresh")):
        if access is None:
            tokens = token({}, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}, "token (refresh)")
            access, step = tokens["access_token"], "userinfo (refreshed)"
        response, body = request({}, "GET", "/connect/userinfo", headers={"Authorization": "Bearer " + access}, step=step)
        expect(response, (200,), step)
        if json.loads(body).get("sub") != sub:
            mismatches.append(f"{identifier}: userinfo sub differs from the ID token's")


def recovery(identifier):
    cookies = {}
    response, html = request(cookies, "GET", "/mot-de-passe-oublie", step="recovery page")
    expect(response, (200,), "recovery page")
    antiforgery = re.search(r'name="__RequestVerificationToken" type="hidden" value="([^"]+)"', html)
    if not antiforgery:
        raise Step("recovery page:no form")
    response, _ = request(cookies, "POST", "/mot-de-passe-oublie", {"Identifier": identifier, "__RequestVerificationToken": antiforgery.group(1)},
                          step="recovery start (SMS)")
    expect(response, (302,), "recovery start (SMS)")
    code_page = response.getheader("Location")
    response, html = request(cookies, "GET", code_page, step="recovery code page")
    expect(response, (200,), "recovery code page")
    antiforgery = re.search(r'name="__RequestVerificationToken" type="hidden" value="([^"]+)"', html)
    flow = urllib.parse.parse_qs(urllib.parse.urlsplit(code_page).query).get("flow", [""])[0]
    time.sleep(1.5)  # the drill sets Verification:MinIntervalBetweenSends to 1 s (30 s by default)
    response, _ = request(cookies, "POST", urllib.parse.urlsplit(code_page).path + "?handler=ResendEmail&flow=" + urllib.parse.quote(flow),
                          {"__RequestVerificationToken": antiforgery.group(1) if antiforgery else ""}, step="recovery resend (e-mail)")
    expect(response, (200, 302), "recovery resend (e-mail)")
    with lock:
        recoveries[0] += 1


class Transient(Exception):
    pass


def transient(outcome):
    return not outcome[:1].isdigit() or outcome in ("502", "503", "504")


def page_request(cookies, method, path, body=None, step=""):
    """A request of the first-login journey; a transient failure raises Transient (the person reloads)."""
    try:
        response, html = request(cookies, method, path, body, step=step)
    except Step as failure:
        raise Transient(f"{step}:{failure}")
    if transient(str(response.status)):
        raise Transient(f"{step}:{response.status}")
    return response, html


def form_of(html, step):
    action = re.search(r'<form method="post"[^>]*action="([^"]+)"', html)
    antiforgery = re.search(r'name="__RequestVerificationToken" type="hidden" value="([^"]+)"', html)
    if not action or not antiforgery:
        raise Step(f"{step}:no form")
    return action.group(1).replace("&amp;", "&"), antiforgery.group(1)


def sms_codes(mobile):
    try:
        with urllib.request.urlopen(SMS_INBOX + "?to=" + urllib.parse.quote(mobile), timeout=5) as answer:
            return json.load(answer)["codes"]
    except Exception:
        return None  # the stand-in is down (the gateways' outage): the person waits for their SMS


STEPS = {  # page path -> (step name, fields)
    "/premiere-connexion": ("first login: start", lambda person: {}),
    "/premiere-connexion/conditions": ("first login: terms", lambda person: {"Accepted": "true"}),
    "/premiere-connexion/mot-de-passe": ("first login: password", lambda person: {"Password": FIRST_PASSWORD, "Confirmation": FIRST_PASSWORD}),
    "/premiere-connexion/coordonnees": ("first login: contact", lambda person: {"Channel": "Sms", "Mobile": person["mobile"]}),
}


def first_login(person, journey):
    """One first login; returns when the person is signed in at the relying party and their userinfo checked."""
    cookies = {}

    def retrying(action):
        """Reloads through one fault: up to TRANSIENT_BUDGET seconds from the first failure of this step."""
        budget_end = None
        while True:
            try:
                return action()
            except Transient:
                journey["transient"] += 1
                budget_end = budget_end or time.time() + TRANSIENT_BUDGET
                if time.time() > min(budget_end, deadline() + 60):
                    raise
                time.sleep(1)

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code",
                                    "scope": "openid profile phone caf offline_access", "state": secrets.token_hex(8),
                                    "nonce": secrets.token_hex(8), "code_challenge": challenge, "code_challenge_method": "S256"})

    def login(password=person["code"]):
        response, _ = page_request(cookies, "GET", "/connect/authorize?" + query, step="first login: authorize")
        expect(response, (302,), "first login: authorize")
        login_url = urllib.parse.urlsplit(response.getheader("Location"))
        response, html = page_request(cookies, "GET", login_url.path + "?" + login_url.query, step="first login: login page")
        expect(response, (200,), "first login: login page")
        action, antiforgery = form_of(html, "first login: login page")
        response, _ = page_request(cookies, "POST", action, {"Input.Identifier": person["nir"], "Input.Password": password,
                                                              "__RequestVerificationToken": antiforgery}, step="first login: login POST")
        expect(response, (302,), "first login: login POST")
        return response.getheader("Location")

    location = retrying(login)
    if not location.startswith("/premiere-connexion"):
        raise Step(f"first login: login POST:sent to {urllib.parse.urlsplit(location).path}")
    journey["flow_started"] = True
    codes_before = [None]

    def one_step():
        """Reads the flow's page (the server redirects to its current step) and submits it; returns where it leads."""
        nonlocal location
        response, html = page_request(cookies, "GET", location, step="first login: page")
        hops = 0
        while response.status == 302 and hops < 5:
            location = response.getheader("Location")
            if not location.startswith("/premiere-connexion"):
                return location
            response, html = page_request(cookies, "GET", location, step="first login: page")
            hops += 1
        path = urllib.parse.urlsplit(location).path
        expect(response, (200,), f"first login: page {path}")
        action, antiforgery = form_of(html, "first login: page " + path)
        if path == "/premiere-connexion/verification":
            code = wait_for_code(person, codes_before[0])
            if code is None:
                # No SMS after a person's patience (its request was answered 503 while Redis failed over, or the code
                # was lost with the old primary): they ask for a new one, as the page offers.
                return resend(path, antiforgery)
            step, fields = "first login: code", {"Code": code}
        elif path == "/premiere-connexion/autorisations":
            step, fields = "first login: delegation", {}
            action = path + "?handler=Skip&flow=" + urllib.parse.quote(urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["flow"][0])
        elif path in STEPS:
            step, make = STEPS[path]
            fields = make(person)
            if path == "/premiere-connexion/coordonnees":
                codes_before[0] = codes_seen(person)
        else:
            raise Step(f"first login: unknown page {path}")
        fields["__RequestVerificationToken"] = antiforgery
        response, _ = page_request(cookies, "POST", action, fields, step=step)
        if response.status == 400 and step == "first login: code":
            # The code was refused (Redis lost it while down, or it expired): ask a new one, as the page offers.
            return resend(path, antiforgery)
        expect(response, (302,), step)
        location = response.getheader("Location")
        return location if not location.startswith("/premiere-connexion") else None

    def resend(path, antiforgery):
        """"Recevoir un nouveau code": the codes received so far are the old ones; the next one to arrive is the new."""
        nonlocal location
        journey["resent"] += 1
        if journey["resent"] > 3:
            raise Step("first login: code:asked again 4 times")
        codes_before[0] = codes_seen(person)
        flow = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["flow"][0]
        response, _ = page_request(cookies, "POST", path + "?handler=Resend&flow=" + urllib.parse.quote(flow),
                                   {"__RequestVerificationToken": antiforgery}, step="first login: resend code")
        expect(response, (302,), "first login: resend code")
        location = response.getheader("Location")
        return None

    back = None
    try:
        while back is None:
            back = retrying(one_step)
    except Step as failure:
        # The answer to the last step was lost (a time-out while PostgreSQL restarted) but the server had done it: the
        # flow is closed (410) and the password is the account's. The person does what the page says: signs in again,
        # now with their new password.
        if not str(failure).endswith(":410") or journey["transient"] == 0:
            raise
        journey["signed_in_again"] += 1
        back = retrying(lambda: login(FIRST_PASSWORD))
    back_url = urllib.parse.urlsplit(back)
    if back_url.path != "/connect/authorize":
        raise Step(f"first login: ended at {back_url.path}")

    def authorize_code():
        response, _ = page_request(cookies, "GET", back_url.path + "?" + back_url.query, step="first login: authorize (code)")
        expect(response, (302,), "first login: authorize (code)")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(response.getheader("Location")).query).get("code", [None])[0]
        if not code:
            raise Step("first login: authorize (code):no code")
        return code

    def exchange():
        """The relying party exchanges a code; when that exchange meets a fault (the instance died under it, 502), the
        person is sent to sign in again and, still signed in at the provider, comes back with a new code."""
        code = authorize_code()
        try:
            return token({}, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier}, "first login: token")
        except Step as failure:
            if transient(str(failure).rsplit(":", 1)[-1]):
                journey["tokens_again"] += 1
                raise Transient(f"first login: token:{failure}")
            raise

    tokens = retrying(exchange)
    response, body = request({}, "GET", "/connect/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}, step="first login: userinfo")
    expect(response, (200,), "first login: userinfo")
    info = json.loads(body)
    if info.get("sub") != claims(tokens["id_token"])["sub"] or (info.get("family_name") or "").upper() != person["name"] \
            or re.sub(r"\D", "", info.get("phone_number") or "")[-9:] != re.sub(r"\D", "", person["mobile"])[-9:] \
            or info.get("phone_number_verified") is not True:
        with lock:
            mismatches.append(f"first login {person['nir'][:3]}…: userinfo names {info.get('family_name')} / {info.get('phone_number')}")
        raise Step("first login: userinfo:another person's data")


CODE_PATIENCE = float(os.environ.get("DRILL_CODE_PATIENCE", "45"))  # seconds a person waits for an SMS before asking again
codes_read = {}  # mobile -> every code the person has read on their phone (the stand-in's inbox is lost when it restarts)


def codes_seen(person):
    """The codes the person has received so far: whatever arrives after is the answer to their last request."""
    codes = sms_codes(person["mobile"]) or []
    with lock:
        known = codes_read.setdefault(person["mobile"], set())
        known.update(codes)
        return set(known)


def wait_for_code(person, seen):
    """The person waits for the SMS (queued in the outbox while the gateways are down) and types its code; None when
    nothing new arrived within their patience (longer than the short drill's gateway outage)."""
    until = time.time() + CODE_PATIENCE
    while time.time() < until:
        fresh = [code for code in (sms_codes(person["mobile"]) or []) if code not in (seen or set())]
        if fresh:
            codes_seen(person)
            return fresh[-1]
        time.sleep(0.5)
    return None


def first_login_worker():
    while time.time() < deadline():
        with lock:
            if next_first_login[0] >= len(FIRST_LOGINS):
                return  # every seeded person has done their first login
            person = FIRST_LOGINS[next_first_login[0]]
            next_first_login[0] += 1
        journey = {"transient": 0, "resent": 0, "signed_in_again": 0, "tokens_again": 0, "flow_started": False}
        started = time.time()
        try:
            first_login(person, journey)
            outcome = "completed"
        except (Step, Transient) as failure:
            outcome = str(failure)
        except SystemExit:
            return
        with lock:
            first_logins.append({"started": round(started - T0, 3), "ended": round(time.time() - T0, 3), "outcome": outcome,
                                 "transient": journey["transient"], "resent": journey["resent"], "signed_in_again": journey["signed_in_again"], "tokens_again": journey["tokens_again"]})
        if outcome != "completed":
            time.sleep(0.5)


def messenger():
    n = 0
    while time.time() < deadline() and time.time() - T0 < MESSAGES_TO:
        if time.time() - T0 >= MESSAGES_FROM:
            try:
                recovery(RECOVERING[n % len(RECOVERING)])
            except Step:
                with lock:
                    recoveries[1] += 1
            except SystemExit:
                return
            n += 1
            time.sleep(5)
        else:
            time.sleep(0.5)


def worker(index):
    n = index
    while time.time() < deadline():
        started = time.time()
        try:
            round_of(PERSONS[n % len(PERSONS)])
            with lock:
                rounds.append((round(started - T0, 3), round(time.time() - T0, 3)))
        except Step:
            time.sleep(0.2)  # a failed round: the person tries again shortly, as people do
        except SystemExit:
            return
        n += 1


threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(WORKERS)]
if MESSAGES_TO > 0:
    threads.append(threading.Thread(target=messenger, daemon=True))
if FIRST_LOGINS and SMS_INBOX:
    threads += [threading.Thread(target=first_login_worker, daemon=True) for _ in range(FIRST_LOGIN_WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=max(0, deadline() - time.time()) + 30)
with open(OUT, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["t", "step", "outcome", "ms"])
    with lock:
        writer.writerows(rows)
print(json.dumps({"requests": len(rows), "mismatches": mismatches[:20], "mismatch_count": len(mismatches), "t0": T0,
                  "kids": kids, "recoveries": recoveries[0], "recoveries_failed": recoveries[1],
                  "first_logins": first_logins, "first_login_persons": len(FIRST_LOGINS), "rounds": rounds}))
