"""``seccomp-bpf syscalls`` and ``seccomp-bpf arches``: the system call tables and the ABIs."""

from __future__ import annotations

import argparse


def register_syscalls(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "syscalls",
        help="list or look up system call numbers",
        description=(
            "With no NAME, print the system call table of the architecture (NR NAME by "
            "number). With names or numbers, print each on every requested architecture."
        ),
    )
    parser.add_argument(
        "--arch",
        action="append",
        metavar="ARCH",
        help="architecture (name, alias, SCMP_ARCH_* or 'native'); repeatable; default native",
    )
    parser.add_argument("queries", nargs="*", metavar="NAME|NR", help="system call name or number")
    parser.set_defaults(handler=_cmd_syscalls)


def _cmd_syscalls(args: argparse.Namespace) -> int:
    from seccomp_bpf.arch import get_arch
    from seccomp_bpf.arch.syscall_lookup import lookup, match_lines, table_lines

    arches = [get_arch(name) for name in args.arch or ["native"]]
    if args.queries:
        lines = match_lines(lookup(args.queries, arches))
    else:
        lines = []
        for arch in arches:
            if len(arches) > 1:
                lines.append(f"# {arch.name}")
            lines.extend(table_lines(arch))
    print("\n".join(lines))
    return 0


def register_arches(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "arches",
        help="list the supported architectures",
        description=(
            "Print every architecture (ABI) policies and commands accept: its name (what "
            "--arch and a policy's arches take; '*' marks this machine's), the names it "
            "also answers to, its AUDIT_ARCH value (seccomp_data.arch), word size and byte "
            "order, how many system calls its table has, the ABIs NAME+compat adds, and "
            "libseccomp's token (used in OCI/Docker profiles), '-' where libseccomp has none."
        ),
    )
    parser.add_argument(
        "names", nargs="*", metavar="ARCH", help="only these (names or aliases; default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.set_defaults(handler=_cmd_arches)


def _cmd_arches(args: argparse.Namespace) -> int:
    import json

    from seccomp_bpf.arch import all_arches, get_arch, native_arch

    native = native_arch()
    chosen = [get_arch(name) for name in args.names] or list(all_arches())
    if args.json:
        records = [
            {
                "name": arch.name,
                "native": arch == native,
                "aliases": list(arch.aliases),
                "audit_arch": arch.audit_arch,
                "audit_arch_macro": arch.audit_arch_macro,
                "bits": arch.bits,
                "byteorder": arch.byteorder,
                "syscalls": len(arch.syscalls),
                "compat": list(arch.compat),
                "libseccomp": arch.scmp_token if arch.libseccomp_name else None,
            }
            for arch in chosen
        ]
        print(json.dumps(records, indent=2))
        return 0
    header = ("NAME", "AUDIT_ARCH", "BITS", "ORDER", "CALLS", "+COMPAT", "LIBSECCOMP", "ALIASES")
    rows = [
        (
            arch.name + (" *" if arch == native else ""),
            f"{arch.audit_arch:#010x}",
            str(arch.bits),
            arch.byteorder,
            str(len(arch.syscalls)),
            ",".join(arch.compat) or "-",
            arch.scmp_token if arch.libseccomp_name else "-",
            ", ".join(arch.aliases) or "-",
        )
        for arch in chosen
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return 0
