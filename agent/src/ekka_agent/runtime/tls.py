"""TLS contexts for proto_dist = inet_tls: both sides present certificates and, by default,
verify the other's against cluster.ssl.cacertfile."""
from __future__ import annotations

import ssl


def contexts(cfg):
    """(server_ctx, client_ctx), or (None, None) without TLS."""
    if cfg["cluster.proto_dist"] != "inet_tls":
        return None, None
    verify = cfg["cluster.ssl.verify"] == "verify_peer"
    ca, cert, key = cfg["cluster.ssl.cacertfile"], cfg["cluster.ssl.certfile"], cfg["cluster.ssl.keyfile"]
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
    server.load_cert_chain(cert, key)
    server.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    client.load_cert_chain(cert, key)
    # Node names are bound by the cookie handshake; the certificate proves the CA vouches for the peer.
    client.check_hostname = False
    client.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    return server, client
