"""``seccomp-bpf profile --static PROGRAM``: what the command line does around the analysis.

Everything that can fail is checked first (the policies to merge, the ``--allow``/``--deny``
names, the program and its libraries); then the policy goes to ``-o`` (default
``seccomp-profile.yaml``, ``seccomp-profile.json`` with ``--format oci``, ``-`` for standard
output), each site whose number is not known and one summary line to standard error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from seccomp_bpf.policy import Policy


@dataclass
class StaticOptions:
    """The command line's options for ``profile --static``."""

    program: str
    output: str | None = None
    output_format: str = "yaml"
    dlopen: Sequence[str] = ()
    library_path: Sequence[str] = ()
    sysroot: str | None = None
    arch: str | None = None
    cache: bool = True
    cache_dir: str | None = None
    merge: Sequence[str] = ()
    allow: Sequence[str] = ()
    deny: Sequence[str] = ()
    quiet: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)


def find_program(name: str) -> str:
    """``name`` itself when it names a file (or has a slash), else the file ``PATH`` finds,
    as a shell would look it up; a missing one is reported as ``name``."""
    import os
    import shutil

    if "/" in name or os.path.exists(name):
        return name
    found = shutil.which(name)
    if found is None:
        from seccomp_bpf.errors import BinaryAnalysisError

        raise BinaryAnalysisError(f"{name}: not found in PATH")
    return found


def run_static_profile(options: StaticOptions) -> int:
    """Analyse the program and write the policy; the exit status (0)."""
    from seccomp_bpf.arch import get_arch
    from seccomp_bpf.formats import read_policy_file
    from seccomp_bpf.profiling.command import DEFAULT_OUTPUT, _say, write_policy
    from seccomp_bpf.profiling.name_lists import expand_names
    from seccomp_bpf.profiling.static import require_dependencies
    from seccomp_bpf.profiling.static.cache import AnalysisCache
    from seccomp_bpf.profiling.static.elf import read_elf
    from seccomp_bpf.profiling.static.loader import SearchOptions
    from seccomp_bpf.profiling.static.profile import static_profile
    from seccomp_bpf.profiling.static.program import analyse_program

    stream = options.stream
    require_dependencies()
    arch = get_arch(options.arch).name if options.arch else None
    merged: list[Policy] = [read_policy_file(path) for path in options.merge]
    cache = None
    if options.cache:
        cache = AnalysisCache(options.cache_dir, warn=lambda text: _say(stream, text))
    program = find_program(options.program)
    # The names asked for, on the program's ABI (read from its header), before the work.
    arches = [get_arch(arch or read_elf(program, details=False).arch)]
    for policy in merged:
        arches.extend(a for a in policy.resolved_arches() if a not in arches)
    expand_names(options.allow, arches, "--allow")
    expand_names(options.deny, arches, "--deny")
    analysis = analyse_program(
        program,
        dlopen=options.dlopen,
        search=SearchOptions(library_path=options.library_path, sysroot=options.sysroot),
        arch=arch,
        cache=cache,
    )
    generated = static_profile(
        analysis,
        allow=options.allow,
        deny=options.deny,
        merge=merged,
        per_abi=options.output_format != "oci",
    )
    output = options.output or DEFAULT_OUTPUT[options.output_format]
    write_policy(generated, options.output_format, output, stream)
    if not options.quiet:
        default = generated.policy.default_action.describe()
        for site in analysis.unresolved:
            _say(stream, f"profile --static: number not known: {site}")
        if analysis.unresolved:
            _say(
                stream,
                f"profile --static: {len(analysis.unresolved)} "
                f"site{'s' if len(analysis.unresolved) > 1 else ''} with a number not known: "
                f"nothing is allowed beyond the calls found ({default} otherwise)",
            )
        reached = analysis.reached
        functions = sum(r for r, _ in reached.regions.values())
        total = sum(t for _, t in reached.regions.values())
        cached = f", {len(analysis.cached)} from the cache" if analysis.cached else ""
        _say(
            stream,
            f"profile --static: {len(analysis.loaded.objects)} objects{cached}, "
            f"{functions} of {total} functions reachable, {len(analysis.syscalls())} system "
            f"calls found in {analysis.seconds:.2f} s; {len(generated.policy.rules)} rules; "
            f"wrote policy to {'standard output' if output == '-' else output}",
        )
    return 0
