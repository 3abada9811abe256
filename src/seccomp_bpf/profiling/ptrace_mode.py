"""Ptrace mode: follow the command with ``ptrace(2)``, one stop per system call.

The recorder forks the command's process and seizes it with :data:`TRACE_OPTIONS`
(:mod:`seccomp_bpf.kernel.tracer` says what each does) before the child goes on: the child
waits on a pipe until it is seized, installs a filter of one instruction, ``RET TRACE``,
and execs the command. Every call of the command, of its threads and of every process it
starts then stops at its entry with ``PTRACE_EVENT_SECCOMP``; ``PTRACE_GET_SYSCALL_INFO``
gives the ``seccomp_data`` (ABI, number, arguments), which is counted, and the tracee is
restarted. Recording starts at the command's ``execve``: the calls the child made before
are the profiler's own.

What the loop does with each stop is in :mod:`seccomp_bpf.kernel.tracer`: calls and events
are restarted at once, a signal-delivery stop delivers the signal, a group-stop
(``SIGSTOP``, ``SIGTSTP``...) is left stopped with ``PTRACE_LISTEN`` as it would be without
a tracer. No tracee is ever left in a ptrace-stop.

The command has ended when its thread-group leader reports its end (the kernel reports the
leader after every other thread of the group, ``exit_group`` included).

The loop is the profiler's hot path (one turn per call of the command): it does the least it
can per stop, with the functions it calls bound to locals.
"""

from __future__ import annotations

import os
from typing import NoReturn

from seccomp_bpf.errors import SeccompBPFError
from seccomp_bpf.kernel import install
from seccomp_bpf.kernel.child import EXIT_SETUP_FAILED, exec_command, note, restore_signals
from seccomp_bpf.kernel.tracer import (
    GROUP_STOP_SIGNALS,
    PTRACE_EVENT_CLONE,
    PTRACE_EVENT_FORK,
    PTRACE_EVENT_SECCOMP,
    PTRACE_EVENT_STOP,
    PTRACE_EVENT_VFORK,
    PTRACE_SYSCALL_INFO_SECCOMP,
    WALL,
    Tracer,
    seize,
)
from seccomp_bpf.profiling.recorder import Channel, RecorderConfig, Recording, close_other_fds

_GO = b"g"


def _child(config: RecorderConfig, sync_read: int, sync_write: int) -> NoReturn:
    """In the forked child: wait to be seized, confine, exec. Never returns."""
    try:
        os.close(sync_write)
        restore_signals(config.mask)
        if os.read(sync_read, 1) != _GO:
            os._exit(EXIT_SETUP_FAILED)  # the recorder could not seize this process: run nothing
        os.close(sync_read)
        try:
            install(config.program, tsync=False)
        except (SeccompBPFError, OSError) as error:
            note(f"error: could not install the profiler's filter: {error}; nothing was run")
            os._exit(EXIT_SETUP_FAILED)
        exec_command(config.executable, config.argv)
    finally:
        os._exit(EXIT_SETUP_FAILED)


def record(config: RecorderConfig, channel: Channel) -> None:
    """Run and record the command (in the recorder process); see the module docstring."""
    tracer = Tracer()
    sync_read, sync_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(config, sync_read, sync_write)
    os.close(sync_read)
    try:
        seize(pid)
    except BaseException:
        os.close(sync_write)  # the child sees end of file and exits without running anything
        os.waitpid(pid, 0)
        raise
    os.write(sync_write, _GO)
    os.close(sync_write)
    channel.send({"t": "started", "pid": pid})
    close_other_fds({channel.fd})
    recording = Recording(config, channel)
    _trace(tracer, pid, recording)


def _trace(tracer: Tracer, command: int, recording: Recording) -> None:
    """The loop: until no tracee is left."""
    config = recording.config
    counts = recording.counts
    values = recording.values
    arguments = config.arguments
    execve = config.execve
    follow = config.follow_daemons
    progress = recording.progress if config.progress else None
    syscall_info = tracer.syscall_info
    restart = tracer.restart
    waitpid = os.waitpid
    seccomp_op = PTRACE_SYSCALL_INFO_SECCOMP
    recorded = False  # whether the command has reached its execve
    reporting = True  # whether the result is still to be sent
    status_of_command: int | None = None
    while True:
        try:
            pid, status = waitpid(-1, WALL)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if status & 0xFF != 0x7F:  # the tracee ended (exited or killed)
            if pid == command:
                status_of_command = status
                if reporting and not follow:
                    recording.done(status, recorded)
                    reporting = False
            continue
        event = status >> 16
        if event == PTRACE_EVENT_SECCOMP:
            info = syscall_info(pid)
            if info is not None and info[0] == seccomp_op and reporting:
                key = (info[1], info[4])
                if not recorded:
                    recorded = pid == command and key in execve
                if recorded:
                    counts[key] = counts.get(key, 0) + 1
                    wanted = arguments.get(key)
                    if wanted is not None:
                        for index, mask in wanted:
                            slot = (info[1], info[4], index)
                            found = values.get(slot)
                            if found is None:
                                found = values[slot] = set()
                            found.add(info[5 + index] & mask)
                    if progress is not None:
                        progress()
            restart(pid, 0)
        elif event == 0:  # a signal-delivery stop: deliver it
            restart(pid, (status >> 8) & 0xFF)
        elif event == PTRACE_EVENT_STOP:
            if (status >> 8) & 0xFF in GROUP_STOP_SIGNALS:
                tracer.listen(pid)
            else:  # a new tracee's first stop, or an interrupt
                restart(pid, 0)
        else:
            if reporting and recorded:
                if event in (PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK):
                    recording.processes += 1
                elif event == PTRACE_EVENT_CLONE:
                    recording.threads += 1
            restart(pid, 0)
    if reporting:
        recording.done(status_of_command, recorded)
