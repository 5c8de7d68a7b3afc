"""URLs and addresses as the HTTP client (toolkit.http) judges them: pure, no I/O.

- `display_url`: a URL as it may be printed or stored (no userinfo, no query values);
- `address_problem`: why an IP address may not be contacted (loopback, private, link-local);
- `parse_length`: a byte count from a header or a feed, never a ValueError.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit


def display_url(url: str) -> str:
    """`url` as it may be printed or stored: no userinfo, every query value replaced by ***.

    A private feed carries its token in the userinfo or the query (`?auth=`); a token in
    the path cannot be told from a name and is kept.
    """
    try:
        parts = urlsplit(url)
    except ValueError:               # an unclosed '[': still no userinfo, no query shown
        return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", r"\1", url).split("?")[0]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "&".join(p.split("=", 1)[0] + "=***" if p else p for p in parts.query.split("&")) \
        if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def address_problem(address: str, allow_private: bool = False) -> str | None:
    """Why `address` (an IP literal) may not be contacted, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_multicast or ip.is_unspecified:
        return "not a unicast host address"
    if ip.is_loopback:            # before is_reserved: ::1 lies in the reserved ::/8
        return None if allow_private else "a loopback address"
    if ip.is_reserved:
        return "not a unicast host address"
    if allow_private:
        return None
    if ip.is_private or not ip.is_global:
        return "a private address"
    return None


def parse_length(text: str | None, bound: int = 10 ** 15) -> int | None:
    """A byte count written as ASCII digits (at most `bound`), or None: never a ValueError."""
    text = (text or "").strip()
    if not re.fullmatch(r"[0-9]{1,16}", text):
        return None
    value = int(text)
    return value if value <= bound else None
