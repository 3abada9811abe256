"""The loopback interface of a new network namespace, which starts down (``network_namespaces(7)``).

``SIOCGIFFLAGS`` and ``SIOCSIFFLAGS`` (``<linux/sockios.h>``, ``netdevice(7)``) on any socket
read and set an interface's flags in a ``struct ifreq``: the name (``IFNAMSIZ``, 16 bytes)
then a union whose ``short ifr_flags`` comes first; 40 bytes in all on 64-bit ABIs.
"""

from __future__ import annotations

# The C module socket wraps: importing socket (its enums, selectors) would cost a confined
# command's start-up more than every socket call of it.
import _socket
import errno as errno_codes
import fcntl
import struct

from seccomp_bpf.errors import KernelError

TYPE_CHECKING = False  # not typing's: a confined command's start-up does not import typing
if TYPE_CHECKING:
    from typing import Final


SIOCGIFFLAGS: Final = 0x8913
SIOCSIFFLAGS: Final = 0x8914
IFF_UP: Final = 0x1
_IFREQ: Final = struct.Struct("16sh22x")


def bring_up_loopback(name: str = "lo") -> None:
    """Set ``IFF_UP`` on interface ``name`` (needs ``CAP_NET_ADMIN`` in its namespace)."""
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = bytearray(_IFREQ.pack(name.encode(), 0))
        try:
            fcntl.ioctl(sock, SIOCGIFFLAGS, request, True)
            _, flags = _IFREQ.unpack(request)
            fcntl.ioctl(sock, SIOCSIFFLAGS, _IFREQ.pack(name.encode(), flags | IFF_UP))
        except OSError as error:
            raise KernelError(
                f"ioctl(SIOCSIFFLAGS, {name}, IFF_UP)", error.errno or errno_codes.EIO
            ) from None
    finally:
        sock.close()
