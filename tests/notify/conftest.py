"""Fixtures for notification tests: a webhook receiver and an SMTP server started by the test, users with contacts."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """An HTTP webhook receiver on 127.0.0.1: records every request, answers ``status`` (or blocks)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.requests: list[dict] = []  # every body received, in order
        self.answered: list[tuple[str, int]] = []  # (id, status) of every answer given
        self.status = 200
        self.block_first = False
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                body["_headers"] = dict(self.headers)
                with receiver.lock:
                    receiver.requests.append(body)
                    first = len(receiver.requests) == 1
                status = receiver.status
                if first and receiver.block_first:
                    receiver.first_arrived.set()
                    receiver.release.wait(60)
                    status = 500  # the sender died before it learned anything: not accepted
                # Recorded before the answer is written, so a sender that has read its answer
                # always finds it here; taken back if the answer could not be written.
                answer = (body["id"], status)
                with receiver.lock:
                    receiver.answered.append(answer)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    with receiver.lock:
                        receiver.answered.remove(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def accepted(self) -> dict[str, int]:
        """How many times each notice id was answered 200."""
        out: dict[str, int] = {}
        for ident, status in self.answered:
            if status == 200:
                out[ident] = out.get(ident, 0) + 1
        return out


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(port: int | None = None) -> Receiver:
        made.append(Receiver(port))
        return made[-1]

    yield make
    for r in made:
        r.stop()


class Mailbox:
    """What the test's SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"  # type: ignore[attr-defined]
    yield box
    controller.stop()


@pytest.fixture
def people(loaded_store):
    """Users of each role, some with email and phone."""
    from gridmap.accounts import repository as accounts
    from gridmap.auth import add_user

    def add(name, role, email=None, phone=None, **kw):
        add_user(loaded_store, username=name, role=role, password="secret-pass-1", **kw)
        accounts.set_contact(loaded_store, name, email=email, phone=phone)

    add("office1", "office", email="office1@county.example", phone="13800000001")
    add("unit1", "unit", email="unit1@county.example", unit_code="U1")
    add("unit1b", "unit", unit_code="U1")
    add("unit2", "unit", unit_code="U2")
    add("leader1", "leader", phone="13900000002", leader_code="L01")
    add("leader3", "leader", leader_code="L03")
    add("inspector1", "inspector")
    return loaded_store
