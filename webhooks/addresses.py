"""Which callback URLs the server may call: http(s) only, and only public addresses.

A webhook is a request the server makes on a merchant's behalf; without these checks anyone
with an integration token could make it call its own admin, a database on the private network
or the cloud metadata service (169.254.169.254). We check twice:

- before the call, every address the host name resolves to must be public (decision W6);
- when the connection opens, the address actually connected to is checked again, so a DNS
  answer that changes between the two (DNS rebinding) cannot slip through.

`settings.WEBHOOKS_ALLOW_PRIVATE_URLS` turns both checks off (tests and local development,
where the receiver runs on loopback).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2048
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052).
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The callback URL leads to an address the server must not call."""


def private_addresses_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared (CGNAT), reserved,
    unspecified or multicast, including IPv4 addresses wrapped in IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public_address(embedded):
            return False
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself). Raises OSError."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def callback_url_errors(url: str, *, resolve_host: bool = True) -> list[str]:
    """Why the server would refuse to call `url` (empty when it may)."""
    if len(url) > MAX_URL_LENGTH:
        return [f"is too long (maximum is {MAX_URL_LENGTH} characters)"]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ["is not a valid URL"]
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return ["must be an http or https URL"]
    host = parts.hostname
    if not host:
        return ["must have a host"]
    if any(char.isspace() for char in url):
        return ["is not a valid URL"]
    if not resolve_host or private_addresses_allowed():
        return []
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        return [f"host {host} can't be resolved"]
    refused = sorted({str(address) for address in addresses if not is_public_address(address)})
    if refused or not addresses:
        return [f"resolves to an address the server may not call ({', '.join(refused) or 'none'})"]
    return []


def check_connected_peer(sock: socket.socket) -> None:
    """Refuse a connection that reached a non-public address, before anything is sent on it."""
    if private_addresses_allowed():
        return
    try:
        peer = ipaddress.ip_address(sock.getpeername()[0].split("%", 1)[0])
    except (OSError, ValueError) as exc:
        raise RefusedAddress(f"could not check the connected address: {exc}") from exc
    if not is_public_address(peer):
        raise RefusedAddress(f"connected to {peer}, an address the server may not call")
