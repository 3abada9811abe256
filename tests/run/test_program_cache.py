"""The per-user cache of compiled programs (``seccomp_bpf.run.program_cache``): a hit gives
back what was stored, and everything someone else could have put there is refused (another
owner, loose permissions, links, FIFOs, changed or swapped bytes) and replaced by a fresh
compile."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from seccomp_bpf.bpf.instruction import Program
from seccomp_bpf.compiler import compile_policy
from seccomp_bpf.policy import ALLOW, ERRNO, Policy, Rule
from seccomp_bpf.run import program_cache
from seccomp_bpf.run.command import compiled_policy
from seccomp_bpf.run.program_cache import CachedProgram, cache_directory, cache_key, load, store

OTHER_UID = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")

POLICY = textwrap.dedent(
    """\
    default_action: allow
    arches: [native]
    syscalls:
      - names: [mknod]
        action: errno(EPERM)
    """
)
_RET_ALLOW = b"\x06\x00\x00\x00\x00\x00\xff\x7f"  # RET SECCOMP_RET_ALLOW, little-endian


@pytest.fixture
def entry() -> CachedProgram:
    policy = Policy(ERRNO(1), (Rule(("read", "write", "exit_group"), ALLOW),))
    return CachedProgram(compile_policy(policy), ("log",), False)


@pytest.fixture
def directory(tmp_path: Path) -> str:
    return str(tmp_path / "cache")


def _entry_path(directory: str, key: str) -> Path:
    return Path(directory) / f"{key}.bpf"


def test_a_stored_entry_is_found(entry: CachedProgram, directory: str) -> None:
    key = cache_key(b"policy", None)
    assert load(key, directory) is None
    assert store(key, entry, directory)
    assert load(key, directory) == entry
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(_entry_path(directory, key).stat().st_mode) == 0o600
    assert os.listdir(directory) == [f"{key}.bpf"]  # no temporary file left


def test_the_key_covers_bytes_arches_and_version(monkeypatch: pytest.MonkeyPatch) -> None:
    key = cache_key(b"policy", None)
    assert key == cache_key(b"policy", None)
    assert key != cache_key(b"policy ", None)
    assert key != cache_key(b"policy", ["x86_64"])
    assert cache_key(b"policy", ["x86_64"]) != cache_key(b"policy", ["x86_64", "i386"])
    monkeypatch.setattr(program_cache, "__version__", "0.0.0-other")
    assert key != cache_key(b"policy", None)


def test_the_key_covers_the_system_call_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Another system-calls (upgraded in place, or another environment's) may number calls
    otherwise: the key changes, so its programs are compiled afresh."""
    key = cache_key(b"policy", None)
    package = tmp_path / "system_calls"
    (package / "tables").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "linux_version.py").write_text('linux_version = "7.2.0"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "system_calls" or m.startswith("system_calls.")]:
        monkeypatch.delitem(sys.modules, name)
    other = cache_key(b"policy", None)
    assert other != key  # the same Linux version, other files
    (package / "linux_version.py").write_text('linux_version = "7.3.0"\n')
    assert cache_key(b"policy", None) not in (key, other)


def test_a_missing_home_is_never_created(entry: CachedProgram, tmp_path: Path) -> None:
    """A user without a home (nobody's HOME=/nonexistent) gets no cache: storing creates
    ~/.cache and the cache in it, and never the home or anything above it."""
    home = tmp_path / "nonexistent"
    where = cache_directory({"HOME": str(home)})
    assert where is not None
    key = cache_key(b"policy", None)
    assert not store(key, entry, where)
    assert load(key, where) is None
    assert not home.exists()
    home.mkdir()
    assert store(key, entry, where)  # with a home, ~/.cache and the cache are made
    assert load(key, where) == entry
    assert stat.S_IMODE((home / ".cache").stat().st_mode) == 0o700


def test_turned_off_and_where(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for off in ("0", "off", "NO", "false"):
        assert cache_directory({"SECCOMP_BPF_CACHE": off, "HOME": "/home/u"}) is None
    assert cache_directory({"HOME": "/home/u"}) == "/home/u/.cache/seccomp-bpf"
    assert cache_directory({"HOME": "/home/u", "XDG_CACHE_HOME": "/c"}) == "/c/seccomp-bpf"
    assert cache_directory({"HOME": "/home/u", "XDG_CACHE_HOME": "rel"}) == (
        "/home/u/.cache/seccomp-bpf"
    )
    assert cache_directory({"SECCOMP_BPF_CACHE_DIR": str(tmp_path)}) == str(tmp_path)
    assert cache_directory({}) is None  # no home: no cache


@as_root
def test_an_entry_owned_by_another_user_is_refused_and_replaced(
    entry: CachedProgram, directory: str
) -> None:
    key = cache_key(b"policy", None)
    store(key, entry, directory)
    os.chown(_entry_path(directory, key), OTHER_UID, OTHER_UID)
    assert load(key, directory) is None
    assert store(key, entry, directory)
    assert _entry_path(directory, key).stat().st_uid == os.geteuid()
    assert load(key, directory) == entry


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_an_entry_writable_by_others_is_refused_and_replaced(
    entry: CachedProgram, directory: str, mode: int
) -> None:
    key = cache_key(b"policy", None)
    store(key, entry, directory)
    os.chmod(_entry_path(directory, key), mode)
    assert load(key, directory) is None
    assert store(key, entry, directory)
    assert load(key, directory) == entry


@as_root
def test_a_directory_owned_by_another_user_is_not_used(
    entry: CachedProgram, directory: str
) -> None:
    key = cache_key(b"policy", None)
    store(key, entry, directory)
    os.chown(directory, OTHER_UID, OTHER_UID)
    assert load(key, directory) is None
    os.unlink(_entry_path(directory, key))
    assert not store(key, entry, directory)
    assert os.listdir(directory) == []  # nothing written into it


def test_a_directory_writable_by_others_is_not_used(entry: CachedProgram, directory: str) -> None:
    key = cache_key(b"policy", None)
    store(key, entry, directory)
    os.chmod(directory, 0o777)
    assert load(key, directory) is None
    assert not store(key, entry, directory)


def test_a_linked_directory_is_not_used(
    entry: CachedProgram, directory: str, tmp_path: Path
) -> None:
    key = cache_key(b"policy", None)
    store(key, entry, directory)
    link = str(tmp_path / "link")
    os.symlink(directory, link)
    assert load(key, link) is None
    assert not store(key, entry, link)


def test_a_linked_entry_is_refused_and_the_link_replaced_not_followed(
    entry: CachedProgram, directory: str, tmp_path: Path
) -> None:
    key, other = cache_key(b"policy", None), cache_key(b"other", None)
    store(other, entry, directory)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"someone else's file")
    _entry_path(directory, key).symlink_to(target)
    assert load(key, directory) is None
    assert store(key, entry, directory)
    assert target.read_bytes() == b"someone else's file"
    assert not _entry_path(directory, key).is_symlink()
    assert load(key, directory) == entry


def test_a_fifo_entry_is_refused_without_blocking(entry: CachedProgram, directory: str) -> None:
    key = cache_key(b"policy", None)
    store(cache_key(b"other", None), entry, directory)
    os.mkfifo(_entry_path(directory, key), 0o600)
    done = threading.Event()

    def read() -> None:
        assert load(key, directory) is None
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(10)


def test_a_reader_sees_a_whole_entry_or_none_while_it_is_written(
    entry: CachedProgram, directory: str
) -> None:
    """Entries are written beside and renamed over: readers racing writers of the same key
    never get a partial entry (they would get None, as for a damaged one, or worse)."""
    key = cache_key(b"policy", None)
    other = CachedProgram(entry.program, (), True)
    stop = threading.Event()
    failures: list[str] = []

    def write() -> None:
        while not stop.is_set():
            if not store(key, entry, directory) or not store(key, other, directory):
                failures.append("a write failed")

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    try:
        seen = [load(key, directory) for _ in range(2000)]
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert not failures
    found = [item for item in seen if item is not None]
    assert found and all(item in (entry, other) for item in found)
    assert len(found) == len(seen) - seen.index(found[0])  # once there, always whole
    assert os.listdir(directory) == [f"{key}.bpf"]


def test_a_corrupted_entry_is_detected(entry: CachedProgram, directory: str) -> None:
    key = cache_key(b"policy", None)
    store(key, entry, directory)
    path = _entry_path(directory, key)
    whole = path.read_bytes()
    for damaged in (
        whole[:-1],  # torn write
        whole[:-8] + bytes(8),  # the last instruction zeroed
        whole.replace(b"flags log", b"flags -  "),  # a flag taken away
        whole + b"\x06\x00\x00\x00\x00\x00\xff\x7f",  # an instruction added
        b"",
    ):
        path.write_bytes(damaged)
        assert load(key, directory) is None


def test_an_entry_of_another_key_is_refused(entry: CachedProgram, directory: str) -> None:
    key, other = cache_key(b"policy", None), cache_key(b"other", None)
    store(other, entry, directory)
    os.rename(_entry_path(directory, other), _entry_path(directory, key))
    assert load(key, directory) is None


def test_an_entry_with_a_valid_digest_but_no_valid_program_is_refused(directory: str) -> None:
    """The digest finds damage, not intent: what a program must be is checked too."""
    import hashlib

    key = cache_key(b"policy", None)
    store(key, CachedProgram(Program.from_bytes(_RET_ALLOW, "little"), (), False), directory)
    path = _entry_path(directory, key)
    body = path.read_bytes().partition(b"\n")[2][: -len(_RET_ALLOW)] + b"\xff" * 8
    path.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    assert load(key, directory) is None


def test_an_oversized_entry_is_refused(entry: CachedProgram, directory: str) -> None:
    key = cache_key(b"policy", None)
    store(key, entry, directory)
    with open(_entry_path(directory, key), "ab") as stream:
        stream.truncate(64 * 1024 * 1024)
    assert load(key, directory) is None


# --- through run ---------------------------------------------------------------------------


def test_a_policy_file_is_compiled_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "cache"
    monkeypatch.setenv("SECCOMP_BPF_CACHE_DIR", str(directory))
    monkeypatch.delenv("SECCOMP_BPF_CACHE", raising=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    first = compiled_policy(str(policy))
    assert first.policy is not None  # read and compiled
    assert len(os.listdir(directory)) == 1
    second = compiled_policy(str(policy))
    assert second.policy is None  # from the cache, not read
    assert second.program == first.program
    assert second.read().rules == first.read().rules  # read when a message needs it
    policy.write_text(POLICY.replace("EPERM", "EACCES"))
    third = compiled_policy(str(policy))
    assert third.policy is not None
    assert len(os.listdir(directory)) == 2
    assert compiled_policy(str(policy), cache=False).policy is not None
    monkeypatch.setenv("SECCOMP_BPF_CACHE", "0")
    assert compiled_policy(str(policy)).policy is not None


def test_a_corrupted_entry_is_compiled_again_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "cache"
    monkeypatch.setenv("SECCOMP_BPF_CACHE_DIR", str(directory))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    fresh = compiled_policy(str(policy))
    (name,) = os.listdir(directory)
    path = directory / name
    data = bytearray(path.read_bytes())
    data[-4] ^= 0xFF
    path.write_bytes(bytes(data))
    again = compiled_policy(str(policy))
    assert again.policy is not None  # compiled, not taken from the damaged entry
    assert again.program == fresh.program
    assert compiled_policy(str(policy)).policy is None  # the entry was written again


def test_a_cached_policy_keeps_its_sandbox_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECCOMP_BPF_CACHE_DIR", str(tmp_path / "cache"))
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + "sandbox:\n  rw: [out]\n")
    (tmp_path / "out").mkdir()
    first = compiled_policy(str(policy))
    second = compiled_policy(str(policy))
    assert first.sandbox is not None and second.sandbox == first.sandbox
    assert second.program == first.program


@pytest.mark.kernel
def test_run_uses_the_cache_and_names_the_rule_from_the_file(tmp_path: Path) -> None:
    """Run twice: the second run takes the program from the cache, and a denial of the exec
    still names the rule of the file (read only for the message)."""
    env = {**os.environ, "SECCOMP_BPF_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("SECCOMP_BPF_CACHE", None)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("[mknod]", "[execve]"))
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "seccomp_bpf", "run", "-p", str(policy), "--", "true"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 1
        assert f"rule 1 ({policy}:4:5)" in done.stderr, done.stderr
    assert len(os.listdir(tmp_path / "cache")) == 1


# --- another user's cache -------------------------------------------------------------------

NO_EXEC = POLICY.replace("[mknod]", "[execve]")


def _forge(directory: Path, policy_bytes: bytes, owner: int) -> None:
    """An entry for ``policy_bytes`` that allows everything, well formed, owned by ``owner``."""
    key = cache_key(policy_bytes, None)
    store(key, CachedProgram(Program.from_bytes(_RET_ALLOW, "little"), (), False), str(directory))
    for path in (directory, directory / f"{key}.bpf"):
        os.chown(path, owner, owner)


@as_root
@pytest.mark.kernel
def test_root_does_not_take_a_program_from_another_users_cache(tmp_path: Path) -> None:
    """Another user plants an entry that allows everything for the key of root's policy, in
    a cache directory of theirs: root refuses it, compiles, and the exec is refused as the
    policy says. The control: the same entry in root's own cache is taken."""
    from tests.run.sandboxed import NOBODY, run_cli

    policy = tmp_path / "policy.yaml"
    policy.write_text(NO_EXEC)
    theirs = tmp_path / "theirs"
    _forge(theirs, policy.read_bytes(), NOBODY)
    done = run_cli(
        "run", "-p", str(policy), "--", "true", cwd=tmp_path,
        env={"SECCOMP_BPF_CACHE_DIR": str(theirs)},
    )  # fmt: skip
    assert done.returncode == 1 and "does not allow execve" in done.stderr, done.stderr
    ours = tmp_path / "ours"
    _forge(ours, policy.read_bytes(), os.geteuid())
    control = run_cli(
        "run", "-p", str(policy), "--", "true", cwd=tmp_path,
        env={"SECCOMP_BPF_CACHE_DIR": str(ours)},
    )  # fmt: skip
    assert control.returncode == 0, control.stderr


@pytest.mark.kernel
def test_an_unprivileged_user_keeps_a_cache_of_their_own() -> None:
    """As uid 65534: root's cache directory is not used (nothing written into it), and one of
    their own is created, mode 0700, with entries of theirs, mode 0600."""
    from tests.run.sandboxed import NOBODY, run_cli, shared_directory

    with shared_directory(owner=NOBODY) as place:
        policy = place / "policy.yaml"
        policy.write_text(POLICY)
        policy.chmod(0o644)
        roots = place / "roots"
        roots.mkdir(mode=0o755)
        for directory in (roots, place / "own" / "cache", place / "own" / "cache"):
            done = run_cli(
                "run", "-p", str(policy), "--", "true", cwd=place, user=NOBODY,
                env={"SECCOMP_BPF_CACHE_DIR": str(directory)},
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        assert os.listdir(roots) == []
        own = place / "own" / "cache"
        (entry,) = own.iterdir()
        assert own.stat().st_uid == NOBODY and stat.S_IMODE(own.stat().st_mode) == 0o700
        assert entry.stat().st_uid == NOBODY and stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_a_registered_policy_is_never_taken_for_the_default_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the process registered wins over the precompiled default and over a file of the
    name in the working directory, as the registry's lookup order says; neither is cached."""
    from seccomp_bpf.policies import register_policy, unregister_policy

    own = Policy(ERRNO(1), (Rule(("getcwd",), ALLOW),))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "acme").write_text("default_action: allow\n")  # a file that looks the same
    register_policy("default", own, replace=True)
    register_policy("acme", own)
    try:
        for name in ("default", "acme"):
            compiled = compiled_policy(name)
            assert compiled.program == compile_policy(own), name
            assert compiled.policy is own or compiled.policy == own
    finally:
        unregister_policy("default")
        unregister_policy("acme")
    assert compiled_policy("default").program != compile_policy(own)
