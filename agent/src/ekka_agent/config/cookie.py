"""The cookie policy, in one place: what a cookie may be, which published ones are refused, and
the fingerprint that lets two hosts compare cookies without showing them.

`ekka-agent check` applies these rules, and the Ansible role relies on `check` for them.
"""
from __future__ import annotations

MAX_BYTES = 255
FORBIDDEN_CHARS = "\\'\" \t\n\r"

# Cookies printed in EMQX 4, 5 and 6 sample configs, docs and images, in Ekka's examples and in
# common guides: a cluster using one is open to anyone who has read them. Compared lowercased.
SAMPLE_COOKIES = frozenset({
    # EMQX 4 (emqx.conf, Docker image) and EMQX 5 (emqx.conf, docs)
    "emqxsecretcookie", "emqx_dist_cookie", "emqx50elixir",
    # Ekka's own examples and this project's early docs
    "ekkasecretcookie", "ekka", "ekka_cookie",
    # the docs' placeholders and words people try first
    "emqx", "secret", "cookie", "mysecret", "mycookie", "secretcookie", "somesupersecret",
    "changeme", "change_me", "change-me", "default", "erlang", "rabbitmq", "password", "test",
})


def fingerprint(cookie: str) -> str:
    """The first 8 hex digits of the SHA-256 of the cookie's bytes: equal cookies, equal prints."""
    import hashlib      # here, not at the top: the checks and ekka-ctl never need it
    return hashlib.sha256(cookie.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def read_cookie_file(path: str) -> str:
    """`file://PATH`: the file's content without its trailing newline; ValueError says why not."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError("a readable cookie file (%r: %s)" % (path, e.strerror)) from None
    try:
        return data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValueError("a cookie file holding UTF-8 text (%r is not)" % path) from None


def check_cookie(s: str) -> str:
    """The cookie itself (a `file://PATH` value is read first), or ValueError with what is allowed."""
    if s.startswith("file://"):
        s = read_cookie_file(s[len("file://"):])
    n = len(s.encode("utf-8", "surrogateescape"))
    if not 1 <= n <= MAX_BYTES:
        raise ValueError("1 to %d bytes (it is %d)" % (MAX_BYTES, n))
    if any(c in s for c in FORBIDDEN_CHARS):
        raise ValueError("no quotes, backslashes or whitespace")
    if s.lower() in SAMPLE_COOKIES:
        raise ValueError("a secret of your own: this is a well-known sample cookie (published in EMQX "
                         "or Ekka examples), so anyone could join")
    return s


def cookie_list(v) -> list:
    """node.cookie_previous: ["old-secret", "file:///etc/ekka/cookie.old"]; each under the rules above."""
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise ValueError("a list of cookies, such as [\"old-secret\"]")
    out = []
    for i, c in enumerate(v):
        if not isinstance(c, str):
            raise ValueError("a list of cookies; entry %d is not a string" % (i + 1))
        try:
            out.append(check_cookie(str(c)))
        except ValueError as e:
            raise ValueError("a list of cookies; entry %d must be %s" % (i + 1, e)) from None
    return out
