#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
"""Edits EROFS superblocks for the kernel tests, refreshing the checksum.

  imgtool.py crc-check IMG             exit 0 if the stored checksum is right
  imgtool.py set-prefix-id IMG N       store N as ishare_xattr_prefix_id
  imgtool.py retarget IMG BASE INFIX   rewrite the fingerprint's long prefix
                                       (same infix length) to BASE + INFIX
  imgtool.py add-fp-prefix IMG BASE INFIX
                                       append a block holding a one-entry long
                                       prefix table, point the fingerprint at
                                       it and set ISHARE_XATTRS, so that an
                                       image from a builder without
                                       fingerprint support gets one from
                                       existing xattrs named BASE + INFIX
  imgtool.py flip-byte IMG OFFSET      invert the byte at OFFSET (file data,
                                       to spoil a dm-verity tree's view)
Offsets follow the superblock layout in docs (superblock at byte 1024).
"""
import struct
import sys

SB = 1024
COMPAT_SB_CHKSUM = 0x1
COMPAT_PLAIN_XATTR_PFX = 0x10
COMPAT_ISHARE_XATTRS = 0x20
INCOMPAT_XATTR_PREFIXES = 0x40


def crc32c_raw(data, crc=0xFFFFFFFF):
    table = crc32c_raw.table
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        t.append(c)
    return t


crc32c_raw.table = _table()


def sb_checksum(img):
    bs = 1 << img[SB + 12]
    n = bs - SB if bs > SB else bs
    blk = bytearray(img[SB:SB + n])
    blk[4:8] = b"\0\0\0\0"
    return crc32c_raw(bytes(blk))


def refresh(img):
    compat = struct.unpack_from("<I", img, SB + 8)[0]
    if compat & COMPAT_SB_CHKSUM:
        struct.pack_into("<I", img, SB + 4, sb_checksum(img))


def load(path):
    with open(path, "rb") as f:
        return bytearray(f.read())


def save(path, img):
    refresh(img)
    with open(path, "wb") as f:
        f.write(img)


def prefix_record(img, idx):
    pos = struct.unpack_from("<I", img, SB + 92)[0] * 4
    for _ in range(idx):
        ln = struct.unpack_from("<H", img, pos)[0]
        pos = (pos + 2 + ln + 3) & ~3
    return pos


def main(argv):
    cmd, path = argv[1], argv[2]
    img = load(path)
    if cmd == "crc-check":
        ok = struct.unpack_from("<I", img, SB + 4)[0] == sb_checksum(img)
        return 0 if ok else 1
    if cmd == "set-prefix-id":
        img[SB + 105] = int(argv[3])
    elif cmd == "retarget":
        base, infix = int(argv[3]), argv[4].encode()
        pos = prefix_record(img, img[SB + 105])
        ln = struct.unpack_from("<H", img, pos)[0]
        if ln != 1 + len(infix):
            sys.exit("retarget: infix length must stay %d" % (ln - 1))
        img[pos + 2] = base
        img[pos + 3:pos + 3 + len(infix)] = infix
    elif cmd == "add-fp-prefix":
        base, infix = int(argv[3]), argv[4].encode()
        bs = 1 << img[SB + 12]
        if len(img) % bs:
            img += bytes(bs - len(img) % bs)
        start = len(img)
        rec = struct.pack("<HB", 1 + len(infix), base) + infix
        img += rec + bytes(bs - len(rec))
        blocks = struct.unpack_from("<I", img, SB + 36)[0]
        struct.pack_into("<I", img, SB + 36, blocks + 1)
        compat, = struct.unpack_from("<I", img, SB + 8)
        compat |= COMPAT_ISHARE_XATTRS | COMPAT_PLAIN_XATTR_PFX
        struct.pack_into("<I", img, SB + 8, compat)
        incompat, = struct.unpack_from("<I", img, SB + 80)
        struct.pack_into("<I", img, SB + 80, incompat | INCOMPAT_XATTR_PREFIXES)
        img[SB + 91] = 1
        struct.pack_into("<I", img, SB + 92, start // 4)
        img[SB + 105] = 0
    elif cmd == "flip-byte":
        off = int(argv[3])
        if off >= len(img):
            sys.exit("flip-byte: offset %d is past the end" % off)
        img[off] ^= 0xFF
    else:
        sys.exit("imgtool: unknown command " + cmd)
    save(path, img)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
