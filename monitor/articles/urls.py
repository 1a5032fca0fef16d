"""Canonical URLs: two links to the same article compare equal after `canonical_url`."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the article.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga", "ref", "ref_src", "cmpid", "smid"}
)
TRACKING_PREFIXES = ("utm_", "at_", "ga_")
DEFAULT_PORTS = {"http": 80, "https": 443}
# AMP copies: /amp/ path segment, trailing /amp, ?amp, or an amp. host prefix.
_AMP_SEGMENT = re.compile(r"/amp(?=/|$)")


def is_http_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url.strip()).scheme.lower() in DEFAULT_PORTS


def canonical_url(url: str | None) -> str | None:
    """Lower-case scheme and host, drop default ports, tracking parameters, fragments,
    AMP markers and trailing slashes; sort the remaining query. None for non-http URLs."""
    if not is_http_url(url):
        return None
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if host.startswith("amp."):
        host = host[4:]
    port = parts.port
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _AMP_SEGMENT.sub("", parts.path) or "/"
    if path.endswith(".amp"):
        path = path[: -len(".amp")]
    path = path.rstrip("/") or "/"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMS
        and not key.lower().startswith(TRACKING_PREFIXES)
        and key.lower() not in ("amp", "outputtype")
    ]
    # https and http are the same article on every site we have seen; compare on https.
    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))
