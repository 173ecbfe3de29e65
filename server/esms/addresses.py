"""Where a webhook may be delivered: addresses judged, resolved once, and the connection pinned.

A delivery resolves its host name once, judges every address it got (an IPv6 address embedding
an IPv4 one, ``::ffff:a.b.c.d``, ``::a.b.c.d``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``,
6to4 ``2002::/16``, Teredo ``2001::/32``, is judged by that IPv4), and connects to the address it
vetted: :class:`PinnedTransport` sends the request there, while the URL, the ``Host`` header and
the TLS server name (certificate verification included) stay the host name. A second lookup,
whose answer could differ (DNS rebinding), never happens. A name that does not resolve is
refused like an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from ipaddress import IPv4Address, IPv6Address, IPv6Network

import httpx

IPAddress = IPv4Address | IPv6Address

PRIVATE_ADDRESS = "PrivateAddress"
"""Error of an attempt not made: the webhook's host resolves to a non-public address."""
UNRESOLVED_ADDRESS = "UnresolvedAddress"
"""Error of an attempt not made: the webhook's host name does not resolve."""

PINNED_ADDRESS = "ppa_pinned_address"
"""Request extension: the vetted address :class:`PinnedTransport` connects to."""

_MAPPED = IPv6Network("::ffff:0:0/96")
_COMPATIBLE = IPv6Network("::/96")
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_SIX_TO_FOUR = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")
_LOW_32 = 0xFFFFFFFF


class AddressRefusedError(Exception):
    """A delivery not sent: ``error`` is :data:`PRIVATE_ADDRESS` or :data:`UNRESOLVED_ADDRESS`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (``[]`` for a native IPv6 address)."""
    if address in _MAPPED:
        return [IPv4Address(int(address) & _LOW_32)]
    if address in _COMPATIBLE:  # deprecated IPv4-compatible ::a.b.c.d (:: and ::1 included)
        return [IPv4Address(int(address) & _LOW_32)]
    if any(address in network for network in _NAT64):
        return [IPv4Address(int(address) & _LOW_32)]
    if address in _SIX_TO_FOUR:
        return [IPv4Address((int(address) >> 80) & _LOW_32)]
    if address in _TEREDO:
        server = IPv4Address((int(address) >> 64) & _LOW_32)
        client = IPv4Address(~int(address) & _LOW_32)
        return [server, client]
    return []


def is_public(address: IPAddress) -> bool:
    """True when ``address`` is globally routable; an IPv6 address embedding IPv4 is judged by
    the IPv4 addresses it embeds (every one must be public)."""
    if isinstance(address, IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded:
            return all(_is_public_v4(v4) for v4 in embedded)
    elif not _is_public_v4(address):
        return False
    return address.is_global


def _is_public_v4(address: IPv4Address) -> bool:
    # Python's is_global already refuses 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
    # 192.0.0/24, 192.168/16, 198.18/15, 240/4...; multicast is not a webhook either.
    return address.is_global and not address.is_multicast


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to now (raises ``OSError`` when it does not)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]).split("%", 1)[0] for *_, sockaddr in infos]


async def vetted_address(host: str, port: int, *, allow_private_networks: bool) -> str:
    """The one address a delivery to ``host`` connects to: ``host`` itself when it is an
    address, else the first address it resolves to, once. Raises :class:`AddressRefusedError` when
    any address is not public (unless private networks are allowed) or the name does not
    resolve."""
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a) for a in await _getaddrinfo(host, port)]
        except (OSError, ValueError):
            raise AddressRefusedError(UNRESOLVED_ADDRESS) from None
    if not addresses:
        raise AddressRefusedError(UNRESOLVED_ADDRESS)
    if not allow_private_networks and not all(is_public(a) for a in addresses):
        raise AddressRefusedError(PRIVATE_ADDRESS)
    return str(addresses[0])


class PinnedTransport(httpx.AsyncBaseTransport):
    """Sends each request to the address in its :data:`PINNED_ADDRESS` extension (a request
    without one is refused); the ``Host`` header and the TLS server name stay the URL's host, so
    the certificate is still verified for the host name."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        address = request.extensions.get(PINNED_ADDRESS)
        if not isinstance(address, str):
            raise httpx.ConnectError("no vetted address for this request", request=request)
        host = request.url.host
        request.url = request.url.copy_with(host=address)
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
