#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# mktree.py DIR: writes the small source tree of the committed compressed
# images into DIR (which must not exist).  The bytes depend only on this
# script, so the tests can rebuild the tree and compare an image with it.

import os
import random
import sys


def text(r, n):
    words = [b"alpha", b"beta", b"gamma", b"delta", b"lorem", b"ipsum",
             b"erofs", b"\n", b"cluster", b"extent", b"pcluster", b"tail"]
    out = bytearray()
    while len(out) < n:
        out += r.choice(words) + b" "
    return bytes(out[:n])


def main():
    top = sys.argv[1]
    r = random.Random(20260601)
    os.makedirs(os.path.join(top, "d"))
    files = {
        "empty": b"",
        "one": b"x",
        "text-4097": text(r, 4097),
        "text-20000": text(r, 20000),
        "rand-1500": r.randbytes(1500),
        "zero-70000": bytes(70000),
        "mixed": b"".join(text(r, 900) + r.randbytes(300) + bytes(1500)
                          for _ in range(6)),
    }
    block = text(r, 6000)
    files["d/dup-a"] = block * 3 + text(r, 700)
    files["d/dup-b"] = text(r, 500) + block * 2
    for name, data in files.items():
        with open(os.path.join(top, name), "wb") as f:
            f.write(data)
    os.symlink("text-4097", os.path.join(top, "link"))
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            os.utime(os.path.join(dirpath, n), (1700000000, 1700000000),
                     follow_symlinks=False)
        os.chmod(dirpath, 0o755)
    for name in files:
        os.chmod(os.path.join(top, name), 0o644)
    os.utime(top, (1700000000, 1700000000))


if __name__ == "__main__":
    main()
