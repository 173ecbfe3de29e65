"""Webhook SSRF: IPv6 forms embedding IPv4 are judged by their IPv4, a name that does not resolve
is refused, and a delivery connects to the address that was vetted (a second lookup, which DNS
rebinding would answer differently, never happens) while TLS still verifies the host name.

The pinning tests run a real HTTPS receiver on 127.0.0.1 with a certificate for
``webhook.test`` issued by a CA made for the test, and a resolver the test controls
(``socket.getaddrinfo`` patched: ``webhook.test`` is 127.0.0.1 the first time, 127.0.0.2, where
nothing listens, afterwards).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import InvalidInput
from server.esms.addresses import (
    PINNED_ADDRESS,
    PRIVATE_ADDRESS,
    UNRESOLVED_ADDRESS,
    AddressRefusedError,
    embedded_ipv4,
    is_public,
    vetted_address,
)
from server.esms.delivery import delivery_client
from server.esms.service import check_url
from tests.conftest import free_port
from tests.pki import Issued, TestAuthority

EMBEDDED: dict[str, bool] = {
    # IPv4-mapped
    "::ffff:127.0.0.1": False,
    "::ffff:10.1.2.3": False,
    "::ffff:169.254.169.254": False,
    "::ffff:8.8.8.8": True,
    # IPv4-compatible (deprecated)
    "::127.0.0.1": False,
    "::10.1.2.3": False,
    "::169.254.169.254": False,
    "::8.8.8.8": True,
    # NAT64 (well-known prefix, and the local-use prefix)
    "64:ff9b::127.0.0.1": False,
    "64:ff9b::10.1.2.3": False,
    "64:ff9b::169.254.169.254": False,
    "64:ff9b::8.8.8.8": True,
    "64:ff9b:1::7f00:1": False,
    # 6to4: 2002:AABB:CCDD::/48 for AA.BB.CC.DD
    "2002:7f00:1::1": False,
    "2002:a01:203::1": False,
    "2002:a9fe:a9fe::1": False,
    "2002:808:808::1": True,
    # Teredo: server IPv4, then the client IPv4 inverted in the last 32 bits
    "2001:0:4136:e378:8000:63bf:80ff:fffe": False,  # client 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5fe:fdfc": False,  # client 10.1.2.3
    "2001:0:a01:203:8000:63bf:f7f7:f7f7": False,  # server 10.1.2.3
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7": True,  # client 8.8.8.8, server 65.54.227.120
    # native
    "::1": False,
    "::": False,
    "fd00::1": False,
    "2001:4860:4860::8888": True,
}


@pytest.mark.parametrize("address", list(EMBEDDED))
def test_ipv6_forms_are_judged_by_their_ipv4(address: str) -> None:
    public = EMBEDDED[address]
    assert is_public(ipaddress.ip_address(address)) is public
    url = f"https://[{address}]/hook"
    if public:
        check_url(url)
    else:
        with pytest.raises(InvalidInput):
            check_url(url)


def test_embedded_ipv4_reads_each_form() -> None:
    v4 = ipaddress.IPv4Address
    six = ipaddress.IPv6Address
    assert embedded_ipv4(six("::ffff:1.2.3.4")) == [v4("1.2.3.4")]
    assert embedded_ipv4(six("::1.2.3.4")) == [v4("1.2.3.4")]
    assert embedded_ipv4(six("64:ff9b::1.2.3.4")) == [v4("1.2.3.4")]
    assert embedded_ipv4(six("2002:102:304::1")) == [v4("1.2.3.4")]
    teredo = six("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert embedded_ipv4(teredo) == [v4("65.54.227.120"), v4("127.0.0.1")]
    assert embedded_ipv4(six("2001:4860::8888")) == []


class Resolver:
    """``socket.getaddrinfo`` for names ending ``.test``: a list of answers, one per lookup
    (the last one repeats); other names go to the real resolver."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: dict[str, int] = {}
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.answers:
            if name.endswith(".test"):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return self.real(host, port, *args, **kwargs)
        count = self.lookups.get(name, 0)
        self.lookups[name] = count + 1
        answer = self.answers[name][min(count, len(self.answers[name]) - 1)]
        out = []
        for address in answer:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr: tuple[Any, ...] = (address, int(port or 0))
            if family == socket.AF_INET6:
                sockaddr += (0, 0)
            out.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return out


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    resolver = Resolver(
        {
            "webhook.test": [["127.0.0.1"], ["127.0.0.2"]],
            "rebind.test": [["93.184.216.34"], ["127.0.0.1"]],
            "mixed.test": [["93.184.216.34", "10.0.0.7"]],
            "mapped.test": [["::ffff:169.254.169.254"]],
            "nat64.test": [["64:ff9b::a9fe:a9fe"]],
        }
    )
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


async def test_a_name_is_resolved_once_and_every_address_judged(resolver: Resolver) -> None:
    assert await vetted_address("rebind.test", 443, allow_private_networks=False) == (
        "93.184.216.34"
    )
    assert resolver.lookups["rebind.test"] == 1
    for host in ("mixed.test", "mapped.test", "nat64.test"):
        with pytest.raises(AddressRefusedError) as refused:
            await vetted_address(host, 443, allow_private_networks=False)
        assert refused.value.error == PRIVATE_ADDRESS, host
    for allowed in (False, True):
        with pytest.raises(AddressRefusedError) as refused:
            await vetted_address("nowhere.test", 443, allow_private_networks=allowed)
        assert refused.value.error == UNRESOLVED_ADDRESS


# --------------------------------------------------------------------------- HTTPS receiver


class HttpsReceiver:
    """uvicorn with TLS on 127.0.0.1 only; records the Host header of every request."""

    def __init__(self, tls: Issued) -> None:
        self.hosts: list[str] = []
        self.port = free_port()
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ssl_certfile=str(tls.cert),
            ssl_keyfile=str(tls.key),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def _hook(self, request: Request) -> Response:
        self.hosts.append(request.headers.get("host", ""))
        return Response(status_code=204)

    def start(self) -> HttpsReceiver:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            time.sleep(0.02)
        raise RuntimeError("the HTTPS receiver did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def authority(tmp_path: Path) -> TestAuthority:
    return TestAuthority(tmp_path, "Test webhook CA")


@pytest.fixture
def tls(authority: TestAuthority) -> Issued:
    """A certificate for ``webhook.test`` the test CA issued."""
    return authority.issue("webhook.test", dns=("webhook.test",))


@pytest.fixture
def https_receiver(tls: Issued) -> Iterator[HttpsReceiver]:
    receiver = HttpsReceiver(tls).start()
    yield receiver
    receiver.stop()


def _transport(authority: TestAuthority) -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(
        verify=authority.client_context(), limits=httpx.Limits(max_keepalive_connections=0)
    )


async def test_the_delivery_goes_to_the_vetted_address(
    resolver: Resolver, authority: TestAuthority, https_receiver: HttpsReceiver
) -> None:
    url = f"https://webhook.test:{https_receiver.port}/hook"
    address = await vetted_address("webhook.test", https_receiver.port, allow_private_networks=True)
    assert address == "127.0.0.1"
    async with delivery_client(10, _transport(authority)) as client:
        for _ in range(2):
            response = await client.post(url, content=b"{}", extensions={PINNED_ADDRESS: address})
            assert response.status_code == 204
    # The name was looked up once (the vetting); the TLS name and Host stayed webhook.test.
    assert resolver.lookups["webhook.test"] == 1
    assert https_receiver.hosts == [f"webhook.test:{https_receiver.port}"] * 2
    # What the pinning prevents: a client resolving again meets the second answer.
    async with httpx.AsyncClient(transport=_transport(authority)) as plain:
        with pytest.raises(httpx.ConnectError):
            await plain.post(url, content=b"{}")
    assert resolver.lookups["webhook.test"] == 2


async def test_the_certificate_is_still_verified_for_the_host_name(
    resolver: Resolver, authority: TestAuthority, https_receiver: HttpsReceiver
) -> None:
    async with delivery_client(10, _transport(authority)) as client:
        with pytest.raises(httpx.ConnectError) as failed:
            await client.post(
                f"https://other.test:{https_receiver.port}/hook",
                content=b"{}",
                extensions={PINNED_ADDRESS: "127.0.0.1"},
            )
        assert "certificate" in str(failed.value).lower() or "hostname" in str(failed.value)
    async with delivery_client(10) as client:  # the system's CAs do not know the test CA
        with pytest.raises(httpx.ConnectError):
            await client.post(
                f"https://webhook.test:{https_receiver.port}/hook",
                content=b"{}",
                extensions={PINNED_ADDRESS: "127.0.0.1"},
            )
    assert https_receiver.hosts == []


async def test_a_request_without_a_vetted_address_is_not_sent(
    authority: TestAuthority, https_receiver: HttpsReceiver
) -> None:
    async with delivery_client(10, _transport(authority)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"https://127.0.0.1:{https_receiver.port}/hook", content=b"{}")
    assert https_receiver.hosts == []
