"""TLS contexts for proto_dist = inet_tls: both sides present certificates and, by default,
verify the other's against cluster.ssl.cacertfile.

The listening sockets keep the server context they were opened with; a reload (swap) hangs the
new one on it, and each new connection is moved to the newest during its TLS handshake (the
server-name callback runs for every client hello, with or without a name). Open connections
keep the certificate they started with."""
from __future__ import annotations

# What asyncio reads from a TLS socket at once. Since Python 3.11 its TLS layer keeps a buffer
# of this size for each connection for as long as the connection lives, 256 KiB by default:
# with a cluster link and RPC links to every member that was 0.75 MiB per member, about 100 MiB
# per agent in a cluster of 100, where a node without TLS holds 25 MiB (issue 12). A TLS record
# carries at most 16 KiB and is decrypted whole, so reading more at once gains little.
TLS_READ_SIZE = 16 * 1024


def contexts(cfg):
    """(server_ctx, client_ctx), or (None, None) without TLS."""
    if cfg["cluster.proto_dist"] != "inet_tls":
        return None, None
    import ssl      # here: a node without TLS runs without OpenSSL (openssl_use.py)
    _small_read_buffers()
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
    server.current = server
    server.sni_callback = _to_current
    return server, client


def _small_read_buffers() -> None:
    """The buffer above is asyncio's SSLProtocol.max_size, a class attribute that no call takes
    as an argument; older Pythons (3.10 and before) have none and allocate per read instead."""
    from asyncio import sslproto
    proto = getattr(sslproto, "SSLProtocol", None)
    if proto is not None and getattr(proto, "max_size", 0) > TLS_READ_SIZE:
        proto.max_size = TLS_READ_SIZE


def _to_current(sslobj, _name, ctx) -> None:
    if ctx.current is not ctx:
        sslobj.context = ctx.current


def swap(transport, contexts) -> None:
    """New connections of `transport` use `contexts` (from contexts()) from now on."""
    server, client = contexts
    if server is None or transport.server_tls is None:
        return
    transport.server_tls.current = server
    transport.client_tls = client
