"""The one check before the platform connects to a host someone else chose.

A URL a bank (or any user) registers is reached from inside the platform's network: left
unchecked, ``https://127.0.0.1:6379/`` or ``https://internal-host/`` turns the platform
into a scanner of its own network, the answer showing up in a log the user can read.
``resolve_public`` resolves the host (IPv4 and IPv6) and refuses it unless every address
it resolves to is on the public internet; the caller then connects to one of the
returned addresses, not to the name again, so that DNS cannot answer differently between
the check and the connection (DNS rebinding).

An address passes only if ``ipaddress`` calls it global and it is none of: loopback,
private, link-local, multicast, reserved, unspecified, shared (100.64.0.0/10),
site-local or unique-local IPv6. An IPv4-mapped IPv6 address, a NAT64 address of the
well-known prefix (64:ff9b::/96) and a 6to4 address are judged by the IPv4 address they
carry. A host that does not resolve is refused too.

``OUTBOUND_ALLOW_PRIVATE_HOSTS`` (a setting, empty unless set: for development only)
lists host names or IP literals that may resolve to non-public addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from core.exceptions import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"https": 443, "http": 80}
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix, RFC 6052
# Not global, yet not every Python's ``ipaddress`` says so.
_NOT_GLOBAL_V6 = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64, RFC 8215
    ipaddress.IPv6Network("fec0::/10"),  # site-local, deprecated (RFC 3879)
    ipaddress.IPv6Network("fc00::/7"),  # unique local
)


class UnsafeDestination(DomainError):
    """The host is, or resolves to, an address that is not on the public internet."""


class UnresolvableHost(UnsafeDestination):
    """The host does not resolve (maybe only for now: a resolver may be failing)."""


def is_public_address(address: IPAddress) -> bool:
    """True only for an address on the public internet (see the module's docstring)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
        if address.is_site_local or any(address in net for net in _NOT_GLOBAL_V6):
            return False
    elif address in _SHARED:
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form ``getaddrinfo`` itself would accept
    without asking DNS (``127.1`` and ``2130706433`` are 127.0.0.1), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _allowed_private(host: str) -> bool:
    allowed = getattr(settings, "OUTBOUND_ALLOW_PRIVATE_HOSTS", None) or ()
    return host.lower().rstrip(".") in {h.lower().rstrip(".") for h in allowed}


def resolve_public(host: str, port: int, *, field: str | None = None) -> list[str]:
    """Every address of ``host`` (IPv4 and IPv6), each of them public; else raise.

    Raises ``UnresolvableHost`` for a host that does not resolve and
    ``UnsafeDestination`` when the host is, or resolves to even one, address that is
    not public. The message names the host, never the address it resolved to.
    """
    host = host.strip().removeprefix("[").removesuffix("]")
    if not host:
        raise UnresolvableHost(_("The URL names no host."), field=field)
    refused = UnsafeDestination(
        _(
            "%(host)s is not on the public internet (it is or resolves to a private, "
            "local or reserved address); only public hosts can be reached."
        )
        % {"host": host},
        field=field,
    )
    literal = _literal(host)
    if literal is not None:
        if not is_public_address(literal) and not _allowed_private(host):
            raise refused
        return [str(literal)]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:  # gaierror; UnicodeError for a bad label
        raise UnresolvableHost(
            _("%(host)s does not resolve to any address: check the host name.")
            % {"host": host},
            field=field,
        ) from error
    addresses: list[str] = []
    for family, _type, _proto, _canonname, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        text = str(sockaddr[0])
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise UnresolvableHost(
            _("%(host)s does not resolve to any address: check the host name.")
            % {"host": host},
            field=field,
        )
    if not _allowed_private(host):
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                raise refused from None
            if not is_public_address(address):
                raise refused
    return addresses


def url_host_port(url: str) -> tuple[str, int]:
    """The host (no brackets, as written) and port (explicit, else the scheme's) of
    ``url``; ValueError when it has neither a host nor a known port."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port  # .port raises ValueError when invalid
    if not host:
        raise ValueError("The URL has no host")
    if port is None:
        port = DEFAULT_PORTS.get(parts.scheme.lower())
    if port is None:
        raise ValueError("The URL has no port and an unknown scheme")
    return host, port


def resolve_public_url(url: str, *, field: str | None = None) -> list[str]:
    """``resolve_public`` for the host and port of ``url``."""
    try:
        host, port = url_host_port(url)
    except ValueError:
        raise UnresolvableHost(_("The URL names no host."), field=field) from None
    return resolve_public(host, port, field=field)
