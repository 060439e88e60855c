#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# head2.py IN OUT: no mkfs writes HEAD2 lclusters with one algorithm, so
# this makes an image that has them: every regular file of IN with full
# lcluster indexes gets its HEAD1 records turned into HEAD2 records, its
# second algorithm set to its first, and BIG_PCLUSTER_2 next to
# BIG_PCLUSTER_1.  A reader must give the same data as before.

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
from mkcorrupt import Image  # noqa: E402


def walk(im, nid, seen, out):
    for name, child, _ in im.dirents(nid):
        if name in (".", "..") or child in seen:
            continue
        seen.add(child)
        ino = im.inode(child)
        if ino["mode"] & 0o170000 == 0o040000:
            walk(im, child, seen, out)
        elif ino["mode"] & 0o170000 == 0o100000 and ino["layout"] == 1:
            out.append(ino)


def main():
    im = Image(open(sys.argv[1], "rb").read())
    files = []
    walk(im, im.root, set(), files)
    n = 0
    for ino in files:
        h = (ino["pos"] + ino["isize"] + ino["xsize"] + 7) // 8 * 8
        if im.b[h + 7] & 0x80:
            continue    # a whole-file fragment has no records
        advise, alg = struct.unpack_from("<HB", im.b, h + 4)
        im.put("<H", h + 4, advise | 0x4)
        im.b[h + 6] = (alg & 0xF) | ((alg & 0xF) << 4)
        nrec = (ino["size"] + im.bs - 1) // im.bs
        for k in range(nrec):
            p = h + 16 + 8 * k
            if im.u16(p) & 3 == 1:
                im.put("<H", p, (im.u16(p) & ~3) | 3)
                n += 1
    if not n:
        raise SystemExit("head2.py: no HEAD1 record found")
    im.fix_csum()
    open(sys.argv[2], "wb").write(im.b)


if __name__ == "__main__":
    main()
