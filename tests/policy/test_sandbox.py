"""The sandbox section of the model (``policy/sandbox.py``), its YAML form, and the formats
that cannot hold it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seccomp_bpf.errors import ConversionError, PolicyError
from seccomp_bpf.formats.go_writer import to_go_seccomp_bpf
from seccomp_bpf.formats.oci_writer import to_oci_json
from seccomp_bpf.formats.yaml_policy import load_yaml_policy
from seccomp_bpf.formats.yaml_writer import to_yaml
from seccomp_bpf.policy import ALLOW, KILL_THREAD, Policy, Sandbox
from seccomp_bpf.policy.sandbox import REQUIRABLE_LAYERS, capability_number


def test_capabilities_are_named_as_capabilities_7_names_them() -> None:
    sandbox = Sandbox(capabilities=("net_bind_service", "CAP_NET_RAW", "cap_net_raw"))
    assert sandbox.capabilities == ("CAP_NET_BIND_SERVICE", "CAP_NET_RAW")
    assert Sandbox(capabilities=("CAP_NET_RAW", "all")).keeps_all_capabilities
    assert capability_number("sys_admin") == 21
    with pytest.raises(PolicyError, match="did you mean CAP_NET_RAW"):
        Sandbox(capabilities=("net_raws",))


def test_values_are_checked() -> None:
    with pytest.raises(PolicyError, match="list of paths"):
        Sandbox(rw="out")
    with pytest.raises(PolicyError, match=r"0\.\.65535"):
        Sandbox(tcp_bind=(70000,))
    with pytest.raises(PolicyError, match="unknown layer 'seccomp'"):
        Sandbox(require=("seccomp",))
    with pytest.raises(PolicyError, match="needs namespaces"):
        Sandbox(namespaces=False, unshare_net=True)
    assert Sandbox(require=("all",)).require == REQUIRABLE_LAYERS
    assert Sandbox(tcp_connect=(443, 80, 443)).tcp_connect == (80, 443)
    with pytest.raises(PolicyError, match="must be a Sandbox"):
        Policy(ALLOW, sandbox={"rw": ["x"]})  # type: ignore[arg-type]


def test_the_command_line_adds_to_the_policys_section() -> None:
    policy = Sandbox(rw=("out",), tcp_connect=(443,), capabilities=("net_raw",))
    line = Sandbox(rw=("log",), tcp_connect=(80,), landlock=False, share_pid=True)
    combined = policy.combined(line)
    assert combined.rw == ("out", "log")
    assert combined.tcp_connect == (80, 443)
    assert combined.capabilities == ("CAP_NET_RAW",)
    assert (combined.landlock, combined.share_pid, combined.namespaces) == (False, True, True)
    assert Sandbox().combined(Sandbox(tcp_bind=())).tcp_bind == ()
    assert Sandbox().combined(Sandbox()) == Sandbox()


SECTION = """\
default_action: allow
sandbox:
  ro: [/srv/data]
  rwx: [out, "a b"]
  tcp_bind: [0, 8080]
  tcp_connect: []
  capabilities: [CAP_NET_BIND_SERVICE]
  share_pid: true
  new_session: false
  require: [landlock]
"""


def test_the_yaml_section_reads_into_the_model_and_back() -> None:
    policy = load_yaml_policy(SECTION, source="p.yaml")
    assert policy.sandbox == Sandbox(
        ro=("/srv/data",),
        rwx=("out", "a b"),
        tcp_bind=(0, 8080),
        tcp_connect=(),
        capabilities=("CAP_NET_BIND_SERVICE",),
        share_pid=True,
        new_session=False,
        require=("landlock",),
    )
    assert policy.sandbox is not None
    assert policy.sandbox.where("rwx", "a b") == "p.yaml:4:14"
    assert policy.sandbox.where("rw", "other") == "--rw"
    assert load_yaml_policy(to_yaml(policy)) == policy
    without = load_yaml_policy("default_action: allow\n")
    assert without.sandbox is None and "sandbox" not in to_yaml(without)


@given(
    st.builds(
        Sandbox,
        rw=st.lists(st.text(min_size=1).filter(lambda t: "\0" not in t), max_size=3).map(tuple),
        tcp_bind=st.none() | st.lists(st.integers(0, 65535), max_size=3).map(tuple),
        default_paths=st.booleans(),
        namespaces=st.just(True),
        unshare_net=st.booleans(),
        landlock=st.booleans(),
        new_session=st.booleans(),
        require=st.lists(st.sampled_from(REQUIRABLE_LAYERS), max_size=3).map(tuple),
    )
)
def test_random_sections_read_back_equal(sandbox: Sandbox) -> None:
    policy = Policy(ALLOW, sandbox=sandbox)
    assert load_yaml_policy(to_yaml(policy)) == policy


@pytest.mark.parametrize(
    ("section", "where", "message"),
    [
        ("  rw: out\n", "3:7", "sandbox.rw must be a list"),
        ("  capabilities: [cap_net_raws]\n", "3:18", "unknown capability 'cap_net_raws'"),
        ("  tcp_bind: [70000]\n", "3:14", "a TCP port is 0..65535"),
        ("  require: [seccomp]\n", "3:13", "unknown layer 'seccomp'"),
        ("  landlock: maybe\n", "3:13", "sandbox.landlock must be true or false"),
        ("  rwxx: [a]\n", "3:3", "unknown key 'rwxx'"),
        ("  namespaces: false\n  unshare_net: true\n", "3:3", "unshare_net needs namespaces"),
    ],
)
def test_errors_name_file_line_and_column(section: str, where: str, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        load_yaml_policy("default_action: allow\nsandbox:\n" + section, source="p.yaml")
    assert str(raised.value).startswith(f"p.yaml:{where}: ")
    assert message in str(raised.value)


def test_oci_and_go_seccomp_bpf_refuse_the_section_by_name() -> None:
    text = "default_action: allow\nbad_arch_action: kill_thread\narches: [x86_64]\n"
    policy = load_yaml_policy(text + "sandbox:\n  rw: [out]\n", source="p.yaml")
    for writer, name in ((to_oci_json, "an OCI profile"), (to_go_seccomp_bpf, "go-seccomp-bpf")):
        with pytest.raises(ConversionError) as raised:
            writer(policy)
        assert str(raised.value).startswith("p.yaml:4:1: cannot be written as ")
        assert name in str(raised.value) and "sandbox section" in str(raised.value)
    plain = Policy(ALLOW, bad_arch_action=KILL_THREAD, arches=("x86_64",), sandbox=Sandbox())
    with pytest.raises(ConversionError, match="sandbox section"):
        to_oci_json(plain)
    assert to_oci_json(load_yaml_policy(text))  # the same policy without it converts
