"""Debian's etcd (3.4) as a real test server: plain or mutual TLS, on 127.0.0.1 or in a netns.

Clients and this machine's environment (research gotcha 8): REQUESTS_CA_BUNDLE and
CURL_CA_BUNDLE are set globally here, and requests lets them override a session's `verify`,
so etcd3gw with a test CA fails with CERTIFICATE_VERIFY_FAILED. EtcdServer.client() therefore
builds its requests.Session with trust_env=False. Code under test that talks to a TLS etcd
through requests must do the same, or be started with EtcdServer.client_env(), which drops
those two variables. The health probe here uses urllib + ssl and ignores them.
"""
from __future__ import annotations

import json
import os
import shutil
import ssl
import urllib.request
from pathlib import Path
from typing import Sequence

from .certs import CertFiles, Certs
from .netns import Host, in_netns
from .ports import free_ports
from .procs import Proc, ProcessGroup
from .wait import wait_until

ETCD_BIN = "etcd"
_CA_ENV_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class EtcdServer:
    """One etcd member. Use start_etcd() / start_etcd_cluster() rather than calling start()."""

    def __init__(self, procs: ProcessGroup, data_dir: Path | str, host: str = "127.0.0.1",
                 netns: str | None = None, certs: Certs | None = None, name: str = "etcd0",
                 client_port: int | None = None, peer_port: int | None = None,
                 initial_cluster: str | None = None, cluster_token: str | None = None,
                 extra_args: Sequence[str] = ()):
        if shutil.which(ETCD_BIN) is None:
            raise RuntimeError("etcd not found: run scripts/install-test-deps.sh (etcd-server)")
        self.procs = procs
        self.data_dir = Path(data_dir)
        self.host = host
        self.netns = netns
        self.certs = certs
        self.name = name
        if client_port is None or peer_port is None:
            client_port, peer_port = free_ports(2, host, "tcp", netns)
        self.client_port = client_port
        self.peer_port = peer_port
        self.scheme = "https" if certs else "http"
        self.url = f"{self.scheme}://{_url_host(host)}:{client_port}"
        self.peer_url = f"http://{_url_host(host)}:{peer_port}"
        self.initial_cluster = initial_cluster or f"{name}={self.peer_url}"
        self.cluster_token = cluster_token or f"ekka-test-{os.getpid()}-{name}-{client_port}"
        self.extra_args = list(extra_args)
        self.tls: CertFiles | None = None
        if certs:
            # A server certificate for exactly this address (also works for netns addresses).
            self.tls = certs.issue(f"etcd-{name}-{client_port}", host, "localhost")
        self.proc: Proc | None = None

    def __repr__(self) -> str:
        return f"<EtcdServer {self.name} {self.url}{' netns=' + self.netns if self.netns else ''}>"

    @property
    def endpoint(self) -> str:
        """host:port, the form discovery configs usually take."""
        return f"{_url_host(self.host)}:{self.client_port}"

    def argv(self) -> list[str]:
        args = [ETCD_BIN, "--name", self.name, "--data-dir", str(self.data_dir),
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", self.initial_cluster,
                "--initial-cluster-token", self.cluster_token, "--initial-cluster-state", "new",
                # Faster elections than the defaults, so partition tests converge quickly.
                "--heartbeat-interval", "100", "--election-timeout", "1000",
                "--enable-v2=true", "--logger", "zap", "--log-outputs", "stderr"]
        if self.tls:
            args += ["--cert-file", str(self.tls.cert), "--key-file", str(self.tls.key),
                     "--trusted-ca-file", str(self.certs.ca_pem), "--client-cert-auth"]
        return args + self.extra_args

    def start(self) -> "EtcdServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # etcd warns (3.4) or refuses (3.5+) otherwise
        self.proc = self.procs.start(self.argv(), name=f"etcd-{self.name}", netns=self.netns)
        return self

    # -- health --------------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.certs:
            return None
        ctx = ssl.create_default_context(cafile=str(self.certs.ca_pem))
        ctx.load_cert_chain(str(self.certs.client.cert), str(self.certs.client.key))
        return ctx

    def _get(self, path: str, timeout: float = 2.0) -> dict:
        def get() -> dict:
            with urllib.request.urlopen(self.url + path, timeout=timeout,
                                        context=self._ssl_context()) as r:
                return json.loads(r.read())
        return in_netns(self.netns, get) if self.netns else get()

    def healthy(self) -> bool:
        return self._get("/health").get("health") == "true"

    def wait_healthy(self, timeout: float = 20.0) -> "EtcdServer":
        def ok() -> bool:
            if self.proc is not None and not self.proc.alive():
                raise AssertionError(f"etcd {self.name} exited (rc={self.proc.returncode}): "
                                     f"{self.proc.stderr()[-2000:]}")
            return self.healthy()
        try:
            wait_until(ok, timeout, 0.05, f"etcd {self.name} at {self.url} healthy")
        except AssertionError:
            if self.proc is not None and not self.proc.alive():
                ok()  # raises the more useful "exited" message
            raise
        return self

    # -- process control -----------------------------------------------------------------
    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()

    # -- clients -------------------------------------------------------------------------
    def tls_files(self, cert: CertFiles | None = None) -> dict[str, str]:
        """CA, client certificate and key paths a client needs (empty for plain etcd)."""
        if not self.certs:
            return {}
        cert = cert or self.certs.client
        return {"cacert": str(self.certs.ca_pem), "cert": str(cert.cert), "key": str(cert.key)}

    @staticmethod
    def client_env(base: dict | None = None) -> dict[str, str]:
        """An environment for client processes: os.environ without the CA-bundle overrides."""
        env = dict(os.environ if base is None else base)
        for var in _CA_ENV_VARS:
            env.pop(var, None)
        return env

    def client(self, timeout: float = 5.0, cert: CertFiles | None = None):
        """An etcd3gw client for this server (with our client cert when TLS is on).

        In a netns, call it through Host.call / in_netns so its connections start there.
        """
        import requests
        from etcd3gw.client import Etcd3Client

        session = requests.Session()
        session.trust_env = False  # see module docstring: otherwise verify= is ignored
        if self.certs:
            cert = cert or self.certs.client
            session.verify = str(self.certs.ca_pem)
            session.cert = (str(cert.cert), str(cert.key))
        return Etcd3Client(host=self.host, port=self.client_port, protocol=self.scheme,
                           timeout=timeout, session=session)

    def etcdctl(self, *args: str, cert: CertFiles | None = None) -> list[str]:
        """argv for etcdctl against this server (run it with Host.run when in a netns)."""
        argv = ["etcdctl", f"--endpoints={self.url}"]
        files = self.tls_files(cert)
        if files:
            argv += [f"--cacert={files['cacert']}", f"--cert={files['cert']}", f"--key={files['key']}"]
        return argv + list(args)


def start_etcd(procs: ProcessGroup, data_dir: Path | str, host: str = "127.0.0.1",
               netns: str | None = None, certs: Certs | None = None,
               timeout: float = 20.0, **kwargs) -> EtcdServer:
    """Start a one-member etcd and wait until it is healthy."""
    return EtcdServer(procs, data_dir, host, netns, certs, **kwargs).start().wait_healthy(timeout)


def start_etcd_cluster(procs: ProcessGroup, base_dir: Path | str, hosts: Sequence[Host],
                       certs: Certs | None = None, client_port: int = 2379,
                       peer_port: int = 2380, timeout: float = 30.0) -> list[EtcdServer]:
    """One etcd member in each netns host (same ports on each), started together, all healthy."""
    names = [f"etcd-{h.name}" for h in hosts]
    members = ",".join(f"{n}=http://{_url_host(h.ip)}:{peer_port}" for n, h in zip(names, hosts))
    token = f"ekka-test-{os.getpid()}-{hosts[0].ns}"
    servers = [EtcdServer(procs, Path(base_dir) / n, h.ip, h.ns, certs, n, client_port, peer_port,
                          initial_cluster=members, cluster_token=token)
               for n, h in zip(names, hosts)]
    for s in servers:
        s.start()
    for s in servers:
        s.wait_healthy(timeout)
    return servers
