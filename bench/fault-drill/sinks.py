#!/usr/bin/python3
"""The fault drill's stand-in gateways, on 127.0.0.1 only: an SMTP relay (Debian's python3-aiosmtpd) and the SMS
gateway's HTTP endpoint (POST {to, text, sender} with an Idempotency-Key header, as HttpSmsSender sends). Each message
received is appended to a log as one line "<epoch> <channel> <key>" (the e-mail's Message-ID, derived from the outbox's
idempotency key, or the SMS's Idempotency-Key): never its text, which holds a code. The drill stops and starts these
processes to take the gateways down and back.
Usage: sinks.py smtp PORT LOG | sinks.py sms PORT LOG
"""
import http.server, sys, threading, time

mode, port, log_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()


def record(channel, key):
    with lock, open(log_path, "a") as log:
        log.write(f"{time.time():.3f} {channel} {key}\n")


if mode == "sms":
    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            record("sms", self.headers.get("Idempotency-Key", "-"))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

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
