"""Register words to numbers and back for the Modbus drivers, chargers and meters (each word
big-endian on the wire; the word order of a 32-bit value is the device's, named in the
function)."""

from __future__ import annotations

import struct


def s16(word: int) -> int:
    """One register as signed 16-bit."""
    return word - 0x10000 if word >= 0x8000 else word


def s32(regs: list[int], at: int = 0) -> int:
    """Signed 32-bit, high word first."""
    value: int = struct.unpack(">i", struct.pack(">HH", regs[at], regs[at + 1]))[0]
    return value


def s32_low_first(regs: list[int], at: int = 0) -> int:
    """Signed 32-bit, low word first (Carlo Gavazzi's EM24)."""
    value: int = struct.unpack("<i", struct.pack("<HH", regs[at], regs[at + 1]))[0]
    return value


def u32(regs: list[int], at: int = 0) -> int:
    """Unsigned 32-bit, high word first."""
    return (regs[at] << 16) | regs[at + 1]


def f32(regs: list[int], at: int = 0) -> float:
    """IEEE float32, high word first."""
    value: float = struct.unpack(">f", struct.pack(">HH", regs[at], regs[at + 1]))[0]
    return value


def words_s32(value: int) -> list[int]:
    """Signed 32-bit as two words, high word first."""
    hi, lo = struct.unpack(">HH", struct.pack(">i", int(value)))
    return [hi, lo]
