"""Network namespaces for tests and the benchmark: a peer on its own link, lossy or cut.

Each namespace is joined to this machine by a veth pair with a /30 of its
own. Random loss is iptables' `statistic` match inside the namespace (netem
is not available here); a cut is an nft table that drops everything. No
traffic leaves this machine, and deleting the namespace removes every rule.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def missing_network_tools(*tools: str) -> str:
    """Why namespaces can't be used here ('' when they can)."""
    missing = [tool for tool in ("ip", *tools) if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return ""


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=10).stdout


@dataclass(frozen=True)
class Netns:
    """A namespace standing in for one site's network (a hall, or the commune room)."""

    name: str
    host_address: str  # this machine's end of the link
    address: str  # the namespace's end

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str) -> str:
        return sh(*self.command(*argv))

    def drop(self, chain: str, probability: float) -> None:
        """Drop UDP at random on `chain` (OUTPUT: the uplink, INPUT: the downlink).

        Only UDP: the signaling over TCP is not what is being tested.
        """
        self.run("iptables", "-F", chain)
        if probability > 0:
            self.run(
                "iptables", "-A", chain, "-p", "udp", "-m", "statistic",
                "--mode", "random", "--probability", f"{probability}", "-j", "DROP",
            )  # fmt: skip

    def dropped(self, chain: str) -> int:
        """Packets the loss rule on `chain` has dropped so far."""
        lines = self.run("iptables", "-L", chain, "-v", "-x", "-n").splitlines()
        return sum(int(line.split()[0]) for line in lines[2:] if "DROP" in line)

    def cut(self) -> None:
        """Drop every packet in and out, as a pulled cable or dead Wi-Fi would."""
        self.run("nft", "add", "table", "inet", "cut")
        for hook, interface in (("input", "iifname"), ("output", "oifname")):
            policy = f"{{ type filter hook {hook} priority 0; policy drop; }}"
            self.run("nft", "add", "chain", "inet", "cut", hook, policy)
            self.run("nft", "add", "rule", "inet", "cut", hook, interface, "lo", "accept")

    def restore(self) -> None:
        self.run("nft", "delete", "table", "inet", "cut")

    def thin(self, kbit: int | None) -> None:
        """Limit what reaches the namespace to `kbit` kbit/s (None: no limit), as a weak
        rural link would: a token bucket on this machine's end of the link."""
        device = f"{self.name}a"  # see netns(): the host end is the name plus "a"
        subprocess.run(["tc", "qdisc", "del", "dev", device, "root"], capture_output=True)
        if kbit is not None:
            sh("tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", f"{kbit}kbit",
               "burst", "16kb", "latency", "80ms")  # fmt: skip


@contextmanager
def netns(prefix: str, index: int, subnet: str) -> Iterator[Netns]:
    """A namespace named `prefix`+pid+`index`, on the /30 number `index` of `subnet` (a /24).

    Names carry the pid so parallel runs don't collide; everything is removed on exit.
    """
    tag = f"{os.getpid() % 10000}{index}"
    name, host_if, inner_if = f"{prefix}{tag}", f"{prefix}{tag}a", f"{prefix}{tag}b"
    site = Netns(name, f"{subnet}.{index * 4 + 1}", f"{subnet}.{index * 4 + 2}")
    assert len(host_if) <= 15, "interface names are limited to 15 characters"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", inner_if)
        sh("ip", "link", "set", inner_if, "netns", name)
        sh("ip", "addr", "add", f"{site.host_address}/30", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "-n", name, "addr", "add", f"{site.address}/30", "dev", inner_if)
        sh("ip", "-n", name, "link", "set", inner_if, "up")
        sh("ip", "-n", name, "link", "set", "lo", "up")
        yield site
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
