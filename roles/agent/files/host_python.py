# Runs on the host with the interpreter that will make the agent's virtualenv: prints its
# version and the wheel tags it can install, so the controller fetches wheels that fit.
# Written for old Pythons too, so a host that is too old says so instead of failing here.
import json
import os
import platform
import sys

libc = ""
try:
    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
except (AttributeError, ValueError, OSError):
    pass
arch = platform.machine()
platforms = []
if libc.startswith("glibc "):
    major, minor = [int(x) for x in libc.split()[1].split(".")[:2]]
    # pip takes a manylinux_2_N tag literally, so every older glibc a wheel may target is listed.
    platforms = ["manylinux_%d_%d_%s" % (major, m, arch) for m in range(minor, 4, -1)]
    legacy = [(17, "manylinux2014"), (12, "manylinux2010"), (5, "manylinux1")]
    platforms += ["%s_%s" % (name, arch) for m, name in legacy if major == 2 and minor >= m]
impl = {"cpython": "cp", "pypy": "pp"}.get(sys.implementation.name, sys.implementation.name)
version = "%d.%d" % sys.version_info[:2]
print(json.dumps({
    "python": version,
    "implementation": impl,
    "platforms": platforms,
    "tag": "%s%s-%s" % (impl, version.replace(".", ""), platforms[0] if platforms else "any"),
}))
