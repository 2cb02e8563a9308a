"""Test PKI from trustme: a CA with server and client certificates, plus an unrelated CA.

All files are PEM under one directory. trustme leaves carry both serverAuth and clientAuth, so
any leaf works on either side of mutual TLS.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

import trustme

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class CertFiles:
    """A leaf certificate: `cert` (leaf then chain), `key`, `ca` (the CA that signed it),
    and `pem` (cert and key in one file, for tools that want that)."""
    cert: Path
    key: Path
    ca: Path
    pem: Path


class Certs:
    """A CA (`ca_pem`) that signed `server` and `client`, and `other_ca_pem` with `other_client`,
    which a server trusting only `ca_pem` must reject."""

    def __init__(self, directory: Path | str, hosts: tuple[str, ...] = DEFAULT_HOSTS):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="ekka test CA")
        self.ca_pem = self.dir / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self.other_ca = trustme.CA(organization_name="ekka unrelated CA")
        self.other_ca_pem = self.dir / "other-ca.pem"
        self.other_ca.cert_pem.write_to_path(str(self.other_ca_pem))
        self.server = self.issue("server", *hosts)
        self.client = self.issue("client", "client.ekka.test", *hosts)
        self.other_client = self.issue("other-client", "client.ekka.test", *hosts, ca=self.other_ca)

    def issue(self, name: str, *identities: str, ca: trustme.CA | None = None,
              not_before: datetime.datetime | None = None,
              not_after: datetime.datetime | None = None) -> CertFiles:
        """A new leaf `name` for DNS names / IPs `identities`, signed by `ca` (default: ours).

        Past `not_after` gives an expired certificate for negative tests.
        """
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"name: {name!r}: letters, digits, '_', '.', '-' only")
        if not identities:
            raise ValueError("identities: at least one DNS name or IP address is required")
        ca = ca or self.ca
        leaf = ca.issue_cert(*identities, common_name=identities[0], not_before=not_before,
                             not_after=not_after)
        cert, key, pem = (self.dir / f"{name}.crt", self.dir / f"{name}.key", self.dir / f"{name}.pem")
        leaf.private_key_pem.write_to_path(str(key))
        for i, blob in enumerate(leaf.cert_chain_pems):
            blob.write_to_path(str(cert), append=i > 0)
        leaf.private_key_and_cert_chain_pem.write_to_path(str(pem))
        for p in (key, pem):
            p.chmod(0o600)
        ca_path = self.ca_pem if ca is self.ca else self.other_ca_pem if ca is self.other_ca \
            else self._write_ca(name, ca)
        return CertFiles(cert=cert, key=key, ca=ca_path, pem=pem)

    def _write_ca(self, name: str, ca: trustme.CA) -> Path:
        path = self.dir / f"{name}-ca.pem"
        ca.cert_pem.write_to_path(str(path))
        return path
