"""Whether an address another company gave is one dsar may send personal data to.

A portability package (GDPR Art. 20(2)) goes to an HTTPS address that a person typed: dsar
must not become a way to reach its own network (server-side request forgery). The rules:
`https` only, no user name or password in it, a host name or IP address, at most
`MAX_URL` characters, and every address the host resolves to public: no private, loopback,
link-local, multicast, reserved, unspecified or shared (100.64.0.0/10) address, including
IPv4 addresses carried inside IPv6 ones (mapped, 6to4, Teredo, NAT64).

Only the standard library, and nothing of dsar: callers pass the hosts a test exempts.
Messages name the host at most, never the whole address (it may carry the person's data).
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2000
HTTPS_PORT = 443
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are IPv4
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f\\]")


def N_(text: str) -> str:
    """dsar.i18n.N_ (a message marked for translation), here so as to import nothing of dsar."""
    return text


class Refused(ValueError):
    """The address may not be used; `message` says why, in words for the person (English).
    `template` and `params` are the message's parts: the intake service turns them into a
    refusal the portal shows in the person's language (IntakeRefused.like)."""

    def __init__(self, message: str, **params: str | int) -> None:
        self.template, self.params = message, params
        shown = {k: f"{v:,}" if isinstance(v, int) else v for k, v in params.items()}
        self.message = message % shown if params else message
        super().__init__(self.message)


@dataclass(frozen=True)
class Target:
    """A checked address: where to connect, and what to ask for there."""

    host: str  # the host name (lower case, IDNA) or the IP address, without brackets
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == HTTPS_PORT else f"{host}:{self.port}"


def parse(url: str) -> Target:
    """The address's parts, or Refused; resolves nothing (see `resolve`)."""
    if len(url) > MAX_URL:
        raise Refused(N_("Keep the address under %(limit)s characters."), limit=MAX_URL)
    if _BAD_CHARS.search(url):
        raise Refused(N_("An address has no spaces, tabs, line breaks or backslashes."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(N_("This is not a web address we can read; check the port number.")) from None
    if parts.scheme.lower() != "https":
        raise Refused(
            N_(
                "Give an address starting with https://: we send your data over an encrypted "
                "connection only."
            )
        )
    if "@" in parts.netloc:
        raise Refused(N_("Leave any user name or password out of the address."))
    host = _host(parts.hostname or "")
    if port == 0:
        raise Refused(N_("The port must be a number from 1 to 65535."))
    path = parts.path or "/"
    return Target(
        host=host, port=port or HTTPS_PORT, path=f"{path}?{parts.query}" if parts.query else path
    )


def _host(raw: str) -> str:
    """A host name in IDNA (lower case, no final dot), or an IP address as written."""
    if not raw:
        raise Refused(N_("Give the full address, like https://receiver.example.com/import."))
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        pass
    try:
        name = raw.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Refused(N_("The company's host name is not a valid name.")) from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise Refused(
            N_("Give the company's full host name, like receiver.example.com, or its IP address.")
        )
    return name


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def is_public(address: IPAddress) -> bool:
    """Whether the address is on the public internet, and so is every address it carries."""
    for one in (address, *embedded_ipv4(address)):
        if (
            not one.is_global
            or one.is_private
            or one.is_loopback
            or one.is_link_local
            or one.is_multicast
            or one.is_reserved
            or one.is_unspecified
            or (isinstance(one, ipaddress.IPv4Address) and one in SHARED)
        ):
            return False
    return True


def resolve(target: Target, *, exempt: frozenset[str] = frozenset()) -> list[IPAddress]:
    """Every address the host resolves to, all public, or Refused.

    `exempt` (tests only, DSAR_TRANSFER_ALLOW_HOSTS) names hosts whose addresses are not
    checked. A name the resolver cannot find is refused too; socket errors other than a
    name that does not exist propagate (OSError), for a caller to retry later.
    """
    try:
        infos = socket.getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            raise Refused(
                N_("We could not find %(host)s; check the company's address."), host=target.host
            ) from None
        raise
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Refused(
            N_("We could not find %(host)s; check the company's address."), host=target.host
        )
    if target.host in exempt:
        return addresses
    if not all(is_public(a) for a in addresses):
        raise Refused(
            N_(
                "%(host)s is not on the public internet (it points to a private, local or "
                "reserved address); give the address the company gave you for receiving data."
            ),
            host=target.host,
        )
    return addresses


# Bytes of the receiver's answer read (and dropped) before closing.
MAX_ANSWER = 64 * 1024


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to one address that was checked, with TLS verified for the host name."""

    def __init__(self, target: Target, address: str, *, timeout: float, tls: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=tls)
        self.pinned = address
        self.tls = tls

    def connect(self) -> None:
        sock = socket.create_connection((self.pinned, self.port), self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_bundle or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context  # verifies the certificate and the host name


def post(
    target: Target,
    addresses: list[IPAddress],
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    ca_bundle: str | None = None,
) -> int:
    """POST `body` to the first checked address that takes a connection; the HTTP status.

    The receiver's answer is read (up to MAX_ANSWER) and dropped; a redirect is not followed.
    """
    tls = tls_context(ca_bundle)
    error: OSError | None = None
    for address in addresses:
        conn = _PinnedHTTPS(target, str(address), timeout=timeout, tls=tls)
        try:
            try:
                conn.connect()
            except OSError as exc:  # refused, unreachable, timed out, TLS: the next address
                error = exc
                continue
            conn.request("POST", target.path, body=body, headers=headers)
            answer = conn.getresponse()
            answer.read(MAX_ANSWER)
            return answer.status
        finally:
            conn.close()
    raise error or OSError("no address to connect to")
