"""Register encodings the emulated devices use (each word is big-endian on the wire)."""

from __future__ import annotations

import struct


def f32_be(value: float) -> list[int]:
    """IEEE float32, high word first (Eastron): two registers."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo]


def i32_lsw(value: int) -> list[int]:
    """Signed 32-bit, low word first (Carlo Gavazzi): two registers."""
    v = max(-(2**31), min(2**31 - 1, int(value))) & 0xFFFFFFFF
    return [v & 0xFFFF, v >> 16]


def i16(value: int) -> int:
    """Signed 16-bit two's complement (Wallbox): one register."""
    v = max(-32768, min(32767, int(value)))
    return v & 0xFFFF


def from_i16(word: int) -> int:
    """A register read back as signed 16-bit."""
    return word - 0x10000 if word >= 0x8000 else word


def i32_be(value: int) -> list[int]:
    """Signed 32-bit, high word first (EVtec, Ambibox, Sigenergy): two registers."""
    v = max(-(2**31), min(2**31 - 1, int(value))) & 0xFFFFFFFF
    return [v >> 16, v & 0xFFFF]


def from_i32_be(hi: int, lo: int) -> int:
    """Two registers, high word first, read back as signed 32-bit."""
    v = (hi << 16) | lo
    return v - (1 << 32) if v >= 1 << 31 else v
