"""Fixtures of the lenders tests.

No test here may ask a real resolver: ``socket.getaddrinfo`` is replaced by a table
(``dns``) in which ``bank.example`` has a public address. A name missing from it does
not resolve; an IP literal is answered by the real function without any lookup.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

PUBLIC_ADDRESS = "93.184.216.34"


@pytest.fixture(autouse=True)
def dns(monkeypatch) -> dict[str, list[str]]:
    """The fake DNS: a test changes the addresses a name resolves to in the table."""
    real_getaddrinfo = socket.getaddrinfo
    records: dict[str, list[str]] = {"bank.example": [PUBLIC_ADDRESS]}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name is None:
            return real_getaddrinfo(host, port, family, type, proto, flags)
        try:
            ipaddress.ip_address(name.partition("%")[0])
        except ValueError:
            pass
        else:
            flags |= socket.AI_NUMERICHOST  # never a lookup
            return real_getaddrinfo(host, port, family, type, proto, flags)
        answers = []
        for text in records.get(name.lower().rstrip("."), []):
            address = ipaddress.ip_address(text)
            if address.version == 4:
                answer_family, sockaddr = socket.AF_INET, (text, int(port or 0))
            else:
                answer_family, sockaddr = socket.AF_INET6, (text, int(port or 0), 0, 0)
            if family not in (0, socket.AF_UNSPEC, answer_family):
                continue
            answers.append(
                (
                    answer_family,
                    type or socket.SOCK_STREAM,
                    proto or socket.IPPROTO_TCP,
                    "",
                    sockaddr,
                )
            )
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return records


@pytest.fixture
def eager_retries(eager_task_retries):
    """Webhook retries run eagerly (see ``eager_task_retries``); no task may fail."""
    yield eager_task_retries
    assert eager_task_retries == []


@pytest.fixture
def retry_spy():
    """Record every ``self.retry`` call of the delivery task (the countdown is not
    observable otherwise: eager mode runs the retry at once)."""
    from unittest import mock

    from lenders.tasks import deliver_webhook

    with mock.patch.object(
        deliver_webhook, "retry", wraps=deliver_webhook.retry
    ) as spy:
        yield spy
