#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write an ACPI SSDT that describes a Tegra241 CMDQV (\\_SB.CMDQ, _HID NVDA200C),
inside an uncompressed cpio archive, as kernel/firmware/acpi/cmdqv.aml.

usage: cmdqv-ssdt.py OUT.cpio

QEMU models no CMDQV, and its Arm machines take no -acpitable. run-qemu.sh --smmu
cmdqv puts this archive in front of the initramfs, where the kernel's ACPI table
upgrade (CONFIG_ACPI_TABLE_UPGRADE) installs the table at boot: the host kernel
finds the device in its ACPI namespace, and pKVM, which cannot take a CMDQV from
the host, refuses to finalise. The table holds the device's name and _HID only:
nothing drives it.
"""
import struct
import sys


def pkg(body: bytes) -> bytes:
    """An AML PkgLength followed by @body (the length counts its own bytes)."""
    n = len(body) + 1
    if n < 0x40:
        return bytes([n]) + body
    n += 1
    if n >= 1 << 12:
        raise ValueError("package too long")
    return bytes([0x40 | (n & 0xF), n >> 4]) + body


def cpio_entry(name: bytes, data: bytes, mode: int) -> bytes:
    """One "newc" cpio entry."""
    fields = [1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + name + b"\0"
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: cmdqv-ssdt.py OUT.cpio", file=sys.stderr)
        return 2
    hid = b"\x08_HID\x0dNVDA200C\x00"          # Name (_HID, "NVDA200C")
    uid = b"\x08_UID\x00"                       # Name (_UID, Zero)
    device = b"\x5b\x82" + pkg(b"CMDQ" + hid + uid)
    scope = b"\x10" + pkg(b"\\_SB_" + device)   # Scope (\_SB) { Device (CMDQ) {...} }
    length = 36 + len(scope)
    header = struct.pack("<4sIBB6s8sI4sI", b"SSDT", length, 2, 0, b"PKVMSM",
                         b"CMDQVTST", 1, b"PKVM", 1)
    table = bytearray(header + scope)
    table[9] = (-sum(table)) & 0xFF
    archive = cpio_entry(b"kernel/firmware/acpi/cmdqv.aml", bytes(table), 0o100644)
    archive += cpio_entry(b"TRAILER!!!", b"", 0)
    archive += b"\0" * (-len(archive) % 512)
    try:
        with open(sys.argv[1], "wb") as f:
            f.write(archive)
    except OSError as e:
        print(f"error: cannot write {sys.argv[1]}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
