#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# mkcorrupt.py GOOD.img OUTDIR
# mkcorrupt.py --compressed COMPACT.img FULL.img OUTDIR
#
# Makes hand-made corrupt images from a good one, each breaking one rule of
# the format, and prints a manifest on stdout, one line per image:
#
#   NAME<TAB>EXPECTED-EXIT<TAB>MESSAGE-SUBSTRING
#
# EXPECTED-EXIT is fsck.erofs's: 1 corrupt, 3 unsupported.  The good image
# must come from a tree with, in its root directory: a small file "a"
# (inline tail), a file "big" (at least two blocks), a directory "d", a
# sparse file "sparse" (chunk-based) and a file "x" carrying xattrs.  When
# the superblock checksum is on, it is recomputed after each change (except
# in the bad-checksum case), so that each image has exactly one fault.

import os
import struct
import sys


def crc32c_raw(data, crc=0xFFFFFFFF):
    table = crc32c_raw.table
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
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


class Image:
    def __init__(self, data):
        self.b = bytearray(data)
        self.bits = self.b[1024 + 0x0C]
        self.bs = 1 << self.bits
        self.root = self.u16(1024 + 0x0E)
        self.meta = self.u32(1024 + 0x28)

    def u16(self, off):
        return struct.unpack_from("<H", self.b, off)[0]

    def u32(self, off):
        return struct.unpack_from("<I", self.b, off)[0]

    def u64(self, off):
        return struct.unpack_from("<Q", self.b, off)[0]

    def put(self, fmt, off, val):
        struct.pack_into(fmt, self.b, off, val)

    def iloc(self, nid):
        return self.meta * self.bs + 32 * nid

    def inode(self, nid):
        p = self.iloc(nid)
        fmt, icount, mode = struct.unpack_from("<HHH", self.b, p)
        ext = fmt & 1
        isize = 64 if ext else 32
        size = self.u64(p + 8) if ext else self.u32(p + 8)
        xsize = 12 + 4 * (icount - 1) if icount else 0
        return dict(pos=p, fmt=fmt, layout=(fmt >> 1) & 7, ext=ext, isize=isize,
                    size=size, xsize=xsize, icount=icount, mode=mode,
                    i_u=self.u32(p + 0x10))

    def data_pos(self, nid, off):
        """absolute position of byte off of a flat inode's data"""
        ino = self.inode(nid)
        nblocks = (ino["size"] + self.bs - 1) // self.bs
        if ino["layout"] == 2 and off >= (nblocks - 1) * self.bs:
            return ino["pos"] + ino["isize"] + ino["xsize"] + off - (nblocks - 1) * self.bs
        assert ino["layout"] in (0, 2), "not a flat inode"
        return ino["i_u"] * self.bs + off

    def dirents(self, nid):
        """(name, nid, absolute position of the dirent) of the first block"""
        ino = self.inode(nid)
        base = self.data_pos(nid, 0)
        maxsize = min(self.bs, ino["size"])
        blk = self.b[base:base + maxsize]
        n = struct.unpack_from("<H", blk, 8)[0] // 12
        out = []
        for i in range(n):
            dnid, off = struct.unpack_from("<QH", blk, 12 * i)
            end = struct.unpack_from("<H", blk, 12 * (i + 1) + 8)[0] if i + 1 < n else None
            if end is None:
                end = off
                while end < maxsize and blk[end]:
                    end += 1
            out.append((bytes(blk[off:end]).decode(), dnid, base + 12 * i))
        return out

    def entry(self, name, dirnid=None):
        for n, nid, pos in self.dirents(self.root if dirnid is None else dirnid):
            if n == name:
                return nid, pos
        raise KeyError(name)

    def fix_csum(self):
        if not self.u32(1024 + 8) & 1:
            return
        n = self.bs - 1024 if self.bs > 1024 else self.bs
        blk = bytearray(self.b[1024:1024 + n])
        blk[4:8] = b"\0\0\0\0"
        self.put("<I", 1024 + 4, crc32c_raw(blk))


def zheader(im, ino):
    return (ino["pos"] + ino["isize"] + ino["xsize"] + 7) // 8 * 8


def compact_slot(im, ino, lcn):
    """(pack position, pack size, bit offset, encodebits) of a compact slot"""
    e = zheader(im, ino) + 8
    total = (ino["size"] + im.bs - 1) // im.bs
    n4i = ((32 - e % 32) // 4) & 7
    n2b = 0
    advise = im.u16(e - 4)
    if advise & 1 and n4i < total:
        n2b = (total - n4i) // 16 * 16
    pos, idx, shift = e, lcn, 2
    if idx >= n4i:
        pos += n4i * 4
        idx -= n4i
        if idx < n2b:
            shift = 1
        else:
            pos += n2b * 2
            idx -= n2b
    pos += idx << shift
    vcnt = 2 if shift == 2 else 16
    psize = vcnt << shift
    pack = pos // psize * psize
    ebits = (psize - 4) * 8 // vcnt
    return pack, psize, ((pos - pack) >> shift) * ebits, ebits


def compact_get(im, ino, lcn):
    pack, psize, bit, ebits = compact_slot(im, ino, lcn)
    v = int.from_bytes(im.b[pack:pack + psize], "little")
    return (v >> bit) & ((1 << ebits) - 1)


def compact_set(im, ino, lcn, val):
    pack, psize, bit, ebits = compact_slot(im, ino, lcn)
    v = int.from_bytes(im.b[pack:pack + psize], "little")
    v &= ~(((1 << ebits) - 1) << bit)
    v |= val << bit
    im.b[pack:pack + psize] = v.to_bytes(psize, "little")


def zmain(compact, full, outdir):
    """compressed images: COMPACT from -zlz4hc -C16384 -Eztailpacking,
    FULL from -zlz4hc -C16384 -Elegacy-compress, both of a tree with a
    compressible 100000-byte "big" and a 5000-byte "tail" in its root"""
    cdata = open(compact, "rb").read()
    fdata = open(full, "rb").read()
    os.makedirs(outdir, exist_ok=True)
    cases = []

    def case(name, code, msg, fn, data):
        im = Image(data)
        fn(im)
        im.fix_csum()
        with open(os.path.join(outdir, name + ".img"), "wb") as f:
            f.write(im.b)
        cases.append((name, code, msg))

    def inode_of(im, name):
        nid, _ = im.entry(name)
        ino = im.inode(nid)
        assert ino["layout"] in (1, 3), "%s is not compressed" % name
        return ino

    def index_past_end(im):
        ino = inode_of(im, "big")
        if ino["ext"]:
            im.put("<Q", ino["pos"] + 8, 1 << 40)
        else:
            im.put("<I", ino["pos"] + 8, 0xF0000000)
    case("z-index-past-end", 1, "past the end of the image", index_past_end, cdata)

    def cblkcnt_lies(im):
        # the first pcluster claims one block more than it has
        ino = inode_of(im, "big")
        v = compact_get(im, ino, 1)
        assert v & 0x800, "lcluster 1 of 'big' is not a block count"
        compact_set(im, ino, 1, v + 1)
    case("z-compressed-length-lies", 1, "does not decode", cblkcnt_lies, cdata)

    def bad_alg(im):
        ino = inode_of(im, "big")
        im.b[zheader(im, ino) + 6] = 0x03
    case("z-algorithm-not-in-superblock", 1, "which the superblock does not list",
         bad_alg, cdata)

    def unknown_alg(im):
        ino = inode_of(im, "big")
        im.b[zheader(im, ino) + 6] = 0x05
    case("z-algorithm-unknown", 3, "unknown HEAD1 compression algorithm 5",
         unknown_alg, cdata)

    def inline_cross(im):
        ino = inode_of(im, "tail")
        h = zheader(im, ino)
        assert im.u16(h + 4) & 0x8, "'tail' has no inline pcluster"
        im.put("<H", h + 2, im.bs - 8)
    case("z-inline-tail-crosses-block", 1, "crosses a block boundary", inline_cross, cdata)

    def clusterofs(im):
        ino = inode_of(im, "big")
        im.put("<H", zheader(im, ino) + 16 + 2, 0xF000)
    case("z-clusterofs-past-lcluster", 1, "clusterofs 61440 is not below 4096",
         clusterofs, fdata)

    def full_records(im, ino):
        h = zheader(im, ino) + 16
        n = (ino["size"] + im.bs - 1) // im.bs
        return [h + 8 * k for k in range(n)]

    def delta0_zero(im):
        ino = inode_of(im, "big")
        p = full_records(im, ino)[2]
        assert im.u16(p) & 3 == 2, "lcluster 2 of 'big' is not a NONHEAD"
        im.put("<H", p + 4, 0)
    case("z-delta0-zero", 1, "delta0 0", delta0_zero, fdata)

    def delta1_far(im):
        ino = inode_of(im, "big")
        p = full_records(im, ino)[2]
        im.put("<H", p + 6, 1000)
    case("z-delta1-past-head", 1, "delta1 leads past the next head", delta1_far, fdata)

    def extent_longer(im):
        # the second head starts one byte later: the first extent is one
        # byte longer than its pcluster decodes to
        ino = inode_of(im, "big")
        recs = full_records(im, ino)
        heads = [p for p in recs[1:] if im.u16(p) & 3 in (0, 1, 3)]
        im.put("<H", heads[0] + 2, im.u16(heads[0] + 2) + 1)
    case("z-decoded-length-differs", 1, "does not decode", extent_longer, fdata)

    def garbage(im):
        ino = inode_of(im, "big")
        blk = im.u32(full_records(im, ino)[0] + 4)
        p = blk * im.bs
        im.b[p:p + im.bs] = b"\xff" * im.bs
    case("z-pcluster-garbage", 1, "does not decode", garbage, fdata)

    for name, code, msg in cases:
        print("%s\t%d\t%s" % (name, code, msg))


def main():
    if sys.argv[1] == "--compressed":
        zmain(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    good, outdir = sys.argv[1], sys.argv[2]
    data = open(good, "rb").read()
    os.makedirs(outdir, exist_ok=True)
    cases = []

    def case(name, code, msg, fn, csum=True):
        im = Image(data)
        fn(im)
        if csum:
            im.fix_csum()
        with open(os.path.join(outdir, name + ".img"), "wb") as f:
            f.write(im.b)
        cases.append((name, code, msg))

    im0 = Image(data)
    a_nid, a_pos = im0.entry("a")
    big_nid, _ = im0.entry("big")
    d_nid, d_pos = im0.entry("d")
    sp_nid, _ = im0.entry("sparse")
    x_nid, _ = im0.entry("x")
    assert im0.inode(sp_nid)["layout"] == 4, "'sparse' is not chunk-based"
    assert im0.inode(x_nid)["icount"] >= 2, "'x' carries no xattrs"
    assert im0.inode(a_nid)["layout"] == 2, "'a' has no inline tail"

    def truncate(im):
        # the last data block goes, and with it the end of some file
        del im.b[len(im.b) - im.bs:]
    case("truncated", 1, "beyond the end", truncate)

    def truncate_sb(im):
        del im.b[1100:]
    case("truncated-sb", 1, "only 1100 bytes long", truncate_sb, csum=False)

    def bad_csum(im):
        im.b[1024 + 0x40] ^= 0x55   # volume name, covered by the checksum
    case("bad-checksum", 1, "checksum", bad_csum, csum=False)

    def bad_magic(im):
        im.b[1024] ^= 0xFF
    case("bad-magic", 1, "bad magic", bad_magic, csum=False)

    def nid_range(im):
        im.put("<Q", a_pos, 0xFFFFFFFFFF)
    case("nid-out-of-range", 1, "beyond the end of the image", nid_range)

    def nid_huge(im):
        im.put("<Q", a_pos, 1 << 62)
    case("nid-huge", 1, "out of range", nid_huge)

    def nameoff(im):
        # the second dirent's name starts past the end of the block
        ents = im.dirents(im.root)
        im.put("<H", ents[1][2] + 8, 0xFFF0)
    case("dirent-nameoff-past-block", 1, "nameoff", nameoff)

    def nameoff0(im):
        ents = im.dirents(im.root)
        im.put("<H", ents[0][2] + 8, 13)
    case("dirent-nameoff0-unaligned", 1, "bad nameoff", nameoff0)

    def loop(im):
        # d's ".." is fine, but an entry of the root now leads back to the root
        im.put("<Q", d_pos, im.root)
    case("looping-directory", 1, "a second time", loop)

    def subdir_loop(im):
        # d/.. points to d itself
        _, pos = im.entry("..", d_nid)
        im.put("<Q", pos, d_nid)
    case("dotdot-wrong", 1, "'..' points to nid", subdir_loop)

    def unsorted(im):
        # swapping the bytes of two names breaks the order
        ents = im.dirents(im.root)
        names = [e[0] for e in ents]
        i = names.index("a")
        j = names.index("x")
        base = im.data_pos(im.root, 0)
        oi = im.u16(ents[i][2] + 8)
        oj = im.u16(ents[j][2] + 8)
        im.b[base + oi] = ord("x")
        im.b[base + oj] = ord("a")
    case("dirents-unsorted", 1, "strictly sorted", unsorted)

    def chunk_past(im):
        ino = im.inode(sp_nid)
        unit = 8 if ino["i_u"] & 0x20 else 4
        p = ino["pos"] + ino["isize"] + ino["xsize"]
        p = (p + unit - 1) // unit * unit
        # a chunk array far longer than the image
        if ino["ext"]:
            im.put("<Q", ino["pos"] + 8, 1 << 40)
        else:
            im.put("<I", ino["pos"] + 8, 0xFFFFFFF0)
    case("chunk-index-past-end", 1, "past the end of the image", chunk_past)

    def chunk_blk(im):
        ino = im.inode(sp_nid)
        unit = 8 if ino["i_u"] & 0x20 else 4
        p = ino["pos"] + ino["isize"] + ino["xsize"]
        p = (p + unit - 1) // unit * unit
        nchunks = (ino["size"] + (im.bs << (ino["i_u"] & 31)) - 1) // (im.bs << (ino["i_u"] & 31))
        for k in range(nchunks):
            q = p + k * unit + (4 if unit == 8 else 0)
            if im.u32(q) != 0xFFFFFFFF:
                im.put("<I", q, 0x7FFFFFF0)
                return
        raise SystemExit("no mapped chunk in 'sparse'")
    case("chunk-block-past-end", 1, "beyond the end of the image", chunk_blk)

    def incompat(im):
        im.put("<I", 1024 + 0x50, im.u32(1024 + 0x50) | 0x200)
    case("unknown-incompat", 3, "unknown feature_incompat bits 0x200", incompat)

    def blkbits_small(im):
        im.b[1024 + 0x0C] = 8
    case("blkszbits-8", 1, "blkszbits 8", blkbits_small, csum=False)

    def blkbits_big(im):
        im.b[1024 + 0x0C] = 13
    case("blkszbits-13", 1, "blkszbits 13", blkbits_big, csum=False)

    def dirblkbits(im):
        im.b[1024 + 0x5A] = 1
    case("dirblkbits", 1, "dirblkbits", dirblkbits)

    def xattr_count(im):
        ino = im.inode(x_nid)
        im.put("<H", ino["pos"] + 2, 0xFFFF)
    case("xattr-icount-overflow", 1, "xattrs end at", xattr_count)

    def xattr_shared(im):
        ino = im.inode(x_nid)
        im.b[ino["pos"] + ino["isize"] + 4] = 255
    case("xattr-shared-count-overflow", 1, "shared xattr ids do not fit", xattr_shared)

    def xattr_icount1(im):
        ino = im.inode(x_nid)
        im.put("<H", ino["pos"] + 2, 1)
    case("xattr-icount-1", 1, "i_xattr_icount 1", xattr_icount1)

    def inline_cross(im):
        ino = im.inode(a_nid)
        start = (ino["pos"] + ino["isize"] + ino["xsize"]) % im.bs
        newsize = im.bs - start + 1
        if ino["ext"]:
            im.put("<Q", ino["pos"] + 8, newsize)
        else:
            im.put("<I", ino["pos"] + 8, newsize)
    case("inline-tail-crosses-block", 1, "crosses a block boundary", inline_cross)

    def iformat(im):
        ino = im.inode(big_nid)
        im.put("<H", ino["pos"], ino["fmt"] | 0x20)
    case("i-format-unknown-bits", 1, "has unknown bits", iformat)

    def layout7(im):
        ino = im.inode(big_nid)
        im.put("<H", ino["pos"], (ino["fmt"] & 1) | (7 << 1))
    case("i-format-layout-7", 1, "unknown data layout 7", layout7)

    def compressed(im):
        # a flat file turned compact-compressed, its map header saying
        # "whole-file fragment" in an image without fragments
        ino = im.inode(big_nid)
        im.put("<H", ino["pos"], (ino["fmt"] & 1) | (3 << 1))
        h = (ino["pos"] + ino["isize"] + ino["xsize"] + 7) // 8 * 8
        im.put("<Q", h, 1 << 63)
    case("compressed-inode", 1, "lacks INCOMPAT_FRAGMENTS", compressed)

    def bad_mode(im):
        ino = im.inode(big_nid)
        im.put("<H", ino["pos"] + 4, 0o170644)
    case("bogus-mode", 1, "bogus i_mode", bad_mode)

    def ftype(im):
        im.b[a_pos + 10] = 2
    case("dirent-file-type-mismatch", 1, "has file type 2", ftype)

    def link_ftype(im):
        # the second link of a hard-linked file claims to be a symlink
        _, pos = im.entry("hl", d_nid)
        im.b[pos + 10] = 7
    case("hardlink-file-type-mismatch", 1, "has file type 7", link_ftype)

    def nlink(im):
        ino = im.inode(big_nid)
        if ino["ext"]:
            im.put("<I", ino["pos"] + 0x2C, 7)
        else:
            im.put("<H", ino["pos"] + 6, 7)
    case("nlink-mismatch", 1, "nlink is 7", nlink)

    def data_overlap(im):
        # big's data now starts in the metadata block of the root
        ino = im.inode(big_nid)
        im.put("<I", ino["pos"] + 0x10, im.iloc(im.root) // im.bs)
    case("data-on-metadata", 1, "holds metadata", data_overlap)

    def root_not_dir(im):
        im.put("<H", 1024 + 0x0E, a_nid)
    case("root-not-a-directory", 1, "not a directory", root_not_dir)

    for name, code, msg in cases:
        print("%s\t%d\t%s" % (name, code, msg))


if __name__ == "__main__":
    main()
