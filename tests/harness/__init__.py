"""Shared test harness: real processes, namespaces, etcd, dnsmasq and certificates.

Modules:
  procs    ProcessGroup / Proc: start (optionally in a netns), log to files, stop by PID
  wait     wait_until: poll a condition with a deadline
  ports    free_port / free_ports on an address (optionally inside a netns)
  netns    Network / Host: bridge + namespaces, partition / block / isolate / heal, in_netns
  etcd     EtcdServer, start_etcd, start_etcd_cluster (plain or mutual TLS)
  dnsmasq  Dnsmasq, start_dnsmasq, Srv (A, AAAA, SRV records)
  certs    Certs / CertFiles: a trustme CA, server and client certs, and an unrelated CA
The pytest fixtures built on these live in tests/conftest.py.
"""
