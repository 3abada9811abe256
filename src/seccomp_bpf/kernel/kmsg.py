"""The kernel's log buffer, read through ``/dev/kmsg`` (Documentation/ABI/testing/dev-kmsg).

Each ``read`` returns one record: ``PRIORITY,SEQUENCE,MICROSECONDS,FLAGS[,...];MESSAGE``
then, on the lines after it, its dictionary (`` KEY=value``). Non-printable bytes of the
message are escaped as ``\\xNN``. A reader that opens the device starts at the oldest record
still in the buffer; ``read`` fails with ``EPIPE`` when records it had not read yet were
overwritten (it then goes on with the oldest left), and with ``EAGAIN`` at the end when the
device was opened with ``O_NONBLOCK``. Reading needs ``CAP_SYSLOG`` when
``kernel.dmesg_restrict`` is 1 (``EPERM`` otherwise).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from typing import Final

KMSG: Final = "/dev/kmsg"
_RECORD_MAX: Final = 8192  # larger than the kernel's CONSOLE_EXT_LOG_MAX (8192 with the prefix)


def kernel_messages(*, follow: bool = False, path: str = KMSG) -> Iterator[str]:
    """The messages of the kernel's log, oldest first, each with its ``/dev/kmsg`` prefix
    (``5,3764,12513189488,-;audit: ...``), without the dictionary lines. With ``follow``,
    waits for new messages after the last one (until the caller stops). An error opening
    the device is raised as :class:`OSError` naming it."""
    flags = os.O_RDONLY | os.O_CLOEXEC | (0 if follow else os.O_NONBLOCK)
    fd = os.open(path, flags)
    try:
        while True:
            try:
                data = os.read(fd, _RECORD_MAX)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError as error:
                if error.errno == errno.EPIPE:
                    continue  # overwritten before we read it: go on with the oldest left
                raise
            if not data:
                return
            yield data.decode("utf-8", "backslashreplace").split("\n", 1)[0]
    finally:
        os.close(fd)
