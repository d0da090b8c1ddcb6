#!/usr/bin/python3
"""The fault drill's stand-in gateways, on 127.0.0.1 only: an SMTP relay (Debian's python3-aiosmtpd) and the SMS
gateway's HTTP endpoint (POST {to, text, sender} with an Idempotency-Key header, as HttpSmsSender sends). Each message
received is appended to a log as one line "<epoch> <channel> <key>" (the e-mail's Message-ID, derived from the outbox's
idempotency key, or the SMS's Idempotency-Key): never its text, which holds a code. The SMS stand-in also keeps, in
memory only, the 6-digit codes each mobile received, and hands them to the load's first-login journeys (GET
/inbox?to=<digits>, on 127.0.0.1: the person reading their phone). The drill stops and starts these processes to take
the gateways down and back (the in-memory inbox goes with them; a message queued meanwhile arrives after the restart).
Usage: sinks.py smtp PORT LOG | sinks.py sms PORT LOG
"""
import http.server, json, re, sys, threading, time, urllib.parse

mode, port, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


def record(channel, key):
    with lock, open(log_path, "a") as log:
        log.write(f"{time.time():.3f} {channel} {key}\n")


def digits(number):
    return re.sub(r"\D", "", number or "")[-9:]  # +33 6 12 34 56 78 and 06 12 34 56 78 alike


if mode == "sms":
    inbox = {}  # last 9 digits of the mobile -> the 6-digit codes it received, in order

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.read_body()
            record("sms", self.headers.get("Idempotency-Key", "-"))
            try:
                sms = json.loads(body)
                code = re.search(r"(?<!\d)\d{6}(?!\d)", sms.get("text", ""))
                if code:
                    with lock:
                        inbox.setdefault(digits(sms.get("to")), []).append(code.group(0))
            except ValueError:
                pass
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def read_body(self):
            # HttpSmsSender posts JsonContent, which .NET sends chunked (no Content-Length).
            if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()

        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            with lock:
                codes = list(inbox.get(digits(query.get("to", [""])[0]), []))
            answer = json.dumps({"codes": codes}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Gateway).serve_forever()
else:
    from aiosmtpd.controller import Controller
    from email import message_from_bytes

    class Relay:
        async def handle_DATA(self, server, session, envelope):
            record("email", message_from_bytes(envelope.content).get("Message-ID", "-"))
            return "250 OK"

    controller = Controller(Relay(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
