"""dnsmasq: A, AAAA and SRV records via dnspython, live changes, and a server for netns hosts."""
from harness.dnsmasq import Srv


def test_a_aaaa_srv(dnsmasq):
    d = dnsmasq(a={"emqx.test": ["10.9.0.2", "10.9.0.3"], "s1.emqx.test": ["10.9.0.2"],
                   "s2.emqx.test": ["10.9.0.3"]},
                aaaa={"emqx.test": ["fd65::2"]},
                srv=[Srv("_ekka._tcp.emqx.test", "s1.emqx.test", 4370),
                     Srv("_ekka._tcp.emqx.test", "s2.emqx.test", 4370)])
    r = d.resolver()
    assert sorted(a.address for a in r.resolve("emqx.test", "A")) == ["10.9.0.2", "10.9.0.3"]
    assert [a.address for a in r.resolve("emqx.test", "AAAA")] == ["fd65::2"]
    srv = r.resolve("_ekka._tcp.emqx.test", "SRV")
    assert sorted((str(x.target), x.port) for x in srv) == [("s1.emqx.test.", 4370),
                                                             ("s2.emqx.test.", 4370)]
    assert d.lookup("unknown.test") == []  # NXDOMAIN, not forwarded anywhere


def test_live_and_restart_changes(dnsmasq):
    d = dnsmasq(a={"fixed.test": ["10.9.1.1"]})
    d.set_hosts({"live.test": ["10.9.1.2", "10.9.1.3"]})
    d.set_hosts({"live.test": ["10.9.1.4"]})
    assert d.lookup("live.test") == ["10.9.1.4"]
    port = d.port
    d.set_records(srv=[Srv("_ekka._tcp.x.test", "live.test", 5000)])
    assert d.port == port
    assert d.lookup("fixed.test") == []
    assert d.lookup("_ekka._tcp.x.test", "SRV") == ["0 10 5000 live.test."]


def test_server_for_namespace_hosts(netns, dnsmasq):
    net = netns(2)
    d = dnsmasq(listen=net.controller.ip, port=53, netns=net.controller.ns,
                a={"peer.test": [net[1].ip]})
    net[0].set_resolv([d.address])
    # A process in the host resolves through the system resolver (getaddrinfo).
    out = net[0].run(["getent", "ahostsv4", "peer.test"]).stdout
    assert net[1].ip in out
