"""``/etc/ld.so.cache``: which file ``ldconfig`` found for each library name.

The format is glibc's (``sysdeps/generic/dl-cache.h``); only the "new" format, which every
glibc since 2.32 writes (and older ones wrote after the old one), is read::

    struct cache_file_new {              // at offset 0, or after the old format, 8-aligned
        char magic[17];                  // "glibc-ld.so.cache"
        char version[3];                 // "1.1"
        uint32_t nlibs;
        uint32_t len_strings;
        uint8_t flags;                   // endianness
        uint8_t padding_unsed[3];
        uint32_t extension_offset;
        uint32_t unused[3];
        struct file_entry_new libs[nlibs];
    };
    struct file_entry_new {
        int32_t flags;                   // FLAG_ELF_LIBC6 | the ABI (FLAG_X8664_LIB64...)
        uint32_t key, value;             // offsets of the name and the path from the
        uint32_t osversion_unused;       // header's start
        uint64_t hwcap;
    };

The loader takes the first entry of a name whose ABI flags fit; here every entry of the name
is returned in the file's order and :mod:`.loader` keeps the first whose ELF header fits.
"""

from __future__ import annotations

import struct
from typing import Final

MAGIC: Final = b"glibc-ld.so.cache1.1"
_HEADER: Final = struct.Struct("<20sIIB3xI3I")
_ENTRY: Final = struct.Struct("<iIIIQ")


def read_ld_cache(path: str = "/etc/ld.so.cache") -> dict[str, list[str]]:
    """Library name -> paths, in the cache's order; empty when the file is missing or not in
    the format above (the loader then uses its default directories, and so does the caller)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return {}
    return parse_ld_cache(data)


def parse_ld_cache(data: bytes) -> dict[str, list[str]]:
    """The entries of a cache file's contents (see :func:`read_ld_cache`)."""
    start = data.find(MAGIC)
    if start < 0 or start + _HEADER.size > len(data):
        return {}
    _, count, _, _, _, *_ = _HEADER.unpack_from(data, start)
    found: dict[str, list[str]] = {}
    offset = start + _HEADER.size
    for _ in range(count):
        if offset + _ENTRY.size > len(data):
            break
        _, key, value, _, _ = _ENTRY.unpack_from(data, offset)
        offset += _ENTRY.size
        name, path = _string(data, start + key), _string(data, start + value)
        if name and path:
            found.setdefault(name, []).append(path)
    return found


def _string(data: bytes, offset: int) -> str | None:
    if not 0 <= offset < len(data):
        return None
    end = data.find(b"\0", offset)
    if end < 0:
        return None
    return data[offset:end].decode("utf-8", "surrogateescape")
