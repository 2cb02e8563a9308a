"""dns: A/AAAA records give app@address, SRV records give app@target (Ekka's ekka_cluster_dns).

dnspython's asyncio resolver; the system's resolv.conf unless cluster.dns.servers names
servers as host or host:port (how tests reach dnsmasq on 127.0.0.1:5353).
"""
from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from .base import BaseStrategy, DiscoveryError

LIFETIME = 3.0


def split_server(s: str):
    """'127.0.0.1:5353' -> ('127.0.0.1', 5353); '[::1]:53', '::1' and 'host' work too."""
    s = s.strip()
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if s.count(":") == 1:
        host, port = s.split(":")
        return host, int(port)
    return s, 53


class Strategy(BaseStrategy):
    name = "dns"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.qname = cfg["cluster.dns.name"]
        self.rtype = cfg["cluster.dns.record_type"]
        self.app = cfg["cluster.dns.app"] or self.app
        self.servers = [split_server(s) for s in cfg["cluster.dns.servers"]]
        self.resolver = None

    def _resolver(self):
        if self.resolver is None:
            r = dns.asyncresolver.Resolver(configure=not self.servers)
            if self.servers:
                r.nameservers = [dns.nameserver.Do53Nameserver(h, p) for h, p in self.servers]
            r.lifetime = r.timeout = LIFETIME
            self.resolver = r
        return self.resolver

    async def discover(self) -> list:
        where = ", ".join("%s:%d" % hp for hp in self.servers) or "the system resolver"
        try:
            ans = await self._resolver().resolve(self.qname, self.rtype.upper())
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            self.info = {"records": []}
            return []
        except dns.exception.DNSException as e:
            raise DiscoveryError("dns: %s %s via %s: %s" % (self.rtype.upper(), self.qname, where,
                                                           e.__class__.__name__ + (": %s" % e if str(e) else "")))
        if self.rtype == "srv":
            hosts = sorted({str(r.target).rstrip(".") for r in ans})
        else:
            hosts = sorted({r.address for r in ans})
        self.info = {"records": hosts}
        return sorted({n for n in (self.node_of(self.app, h) for h in hosts) if n})
