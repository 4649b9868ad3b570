"""ARP probes (RFC 5227 style: sender address 0.0.0.0) on the parent interface, to find
addresses that already answer on the LAN before a decky takes them. Read-only for the host."""
import ipaddress
import socket
import struct
import time
from pathlib import Path

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6


def _mac_bytes(interface: str) -> bytes:
    return bytes.fromhex(Path(f"/sys/class/net/{interface}/address").read_text().strip().replace(":", ""))


def _probe_frame(src_mac: bytes, target: str) -> bytes:
    ether = BROADCAST + src_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, b"\0" * 4, b"\0" * 6,
                      ipaddress.IPv4Address(target).packed)
    return ether + arp


def who_answers(interface: str, addresses: list[str], wait: float = 0.5, tries: int = 2) -> dict[str, str]:
    """address -> MAC of whoever answered an ARP probe for it on `interface`."""
    if not addresses:
        return {}
    wanted = {ipaddress.IPv4Address(a).packed: a for a in addresses}
    answered: dict[str, str] = {}
    src_mac = _mac_bytes(interface)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((interface, 0))
        sock.settimeout(0.05)
        for _ in range(tries):
            for packed, address in wanted.items():
                if address not in answered:
                    sock.send(_probe_frame(src_mac, address))
            deadline = time.monotonic() + wait / tries
            while time.monotonic() < deadline:
                try:
                    frame = sock.recv(128)
                except socket.timeout:
                    continue
                if len(frame) < 42 or frame[12:14] != b"\x08\x06":
                    continue
                op, sha, spa = struct.unpack("!H6s4s", frame[20:32])
                if op == 2 and spa in wanted:
                    answered[wanted[spa]] = ":".join(f"{b:02x}" for b in sha)
    return answered
