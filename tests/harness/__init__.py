"""Shared test harness: real processes, namespaces, etcd, dnsmasq and certificates.

Modules:
  procs    ProcessGroup / Proc: start (optionally in a netns), log to files, stop by PID
  wait     wait_until: poll a condition with a deadline
  ports    free_port / free_ports on an address (optionally inside a netns)
  netns    Network / Host: bridge + namespaces, partition / block / isolate / heal, in_netns
  etcd     EtcdServer, start_etcd, start_etcd_cluster (plain or mutual TLS)
  dnsmasq  Dnsmasq, start_dnsmasq, Srv (A, AAAA, SRV records)
  certs    Certs / CertFiles: a trustme CA, server and client certs, and an unrelated CA
The pytest fixtures built on these live in tests/conftest.py. Typical use:

    def test_partition(netns, etcd_factory):
        net = netns(3)                               # node1..node3 + net.controller
        agent = net["node1"].start(["ekka-agent", "run", "-c", cfg])   # stopped by PID later
        reply = net.controller.call(some_client_function, net["node2"].ip)
        net.partition(["node1"], ["node2", "node3"])   # nft drops inside the hosts
        wait_until(lambda: ..., 10, message="node1 sees node2 down")
        net.heal()

Sockets/clients of the test itself belong in net.controller (Host.call), so the root
namespace never sends to a test subnet.
"""
