"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), which records what it received.

`smtp_server` (conftest.py) starts one on a free port and points Django's SMTP backend at it. A test can make it
refuse: `server.refuse(address, code=550)` answers RCPT TO for that address with a permanent failure (5xx, a
bounce), `server.fail_next(count, code=451)` answers the next `count` messages' DATA with a temporary one (4xx),
and `server.slow(seconds)` delays each answer to DATA, so that a test can stop a client in the middle of a send.
"""

import asyncio
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)
    delay: float = 0.0
    data_started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self.lock:
            code = self.refused.get(address.lower())
        if code is not None:
            return f"{code} 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.data_started += 1
            delay = self.delay
        if delay:
            # A slow server: the message is only accepted (and recorded) after the delay; a client that goes away
            # meanwhile cancels this handler, and the message is not received.
            await asyncio.sleep(delay)
        with self.lock:
            if self.failures:
                return f"{self.failures.pop(0)} 4.3.0 Try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SMTPServer:
    def __init__(self, port: int) -> None:
        self.handler = _Handler()
        self.host = "127.0.0.1"
        self.port = port
        self._controller = Controller(self.handler, hostname=self.host, port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def to(self, address: str) -> list[Received]:
        return [item for item in self.messages if address.lower() in (r.lower() for r in item.recipients)]

    def refuse(self, address: str, *, code: int = 550) -> None:
        with self.handler.lock:
            self.handler.refused[address.lower()] = code

    def fail_next(self, count: int = 1, *, code: int = 451) -> None:
        with self.handler.lock:
            self.handler.failures.extend([code] * count)

    def slow(self, seconds: float) -> None:
        """Each message's DATA is answered (and the message recorded) `seconds` after it arrived."""
        with self.handler.lock:
            self.handler.delay = seconds

    @property
    def data_started(self) -> int:
        """How many messages' DATA the server has started to handle (received or not)."""
        with self.handler.lock:
            return self.handler.data_started

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.received.clear()
