#!/bin/bash
# SPDX-License-Identifier: MIT
#
# gen-torture.sh DIR [--small] [--reverse] [--no-sparse] [--no-deep]
#                    [--max-name=N]
#
# Creates a "torture" tree in DIR (which must not exist yet, or be empty):
# every file type, awkward names and sizes, deep nesting, hard-link groups,
# owners and modes that need extended inodes, old and far-future mtimes with
# nanoseconds, and many kinds of xattrs (user, trusted, security, ACLs,
# overlayfs names, large, empty and binary values, shared values).
#
# The result is deterministic: contents come from SHAKE-256 of fixed seeds,
# and owners, modes and mtimes are set explicitly, so two runs give trees
# whose images must be byte-identical.  --reverse creates everything in the
# opposite order (different inode numbers and directory hash order), which
# must not change the image either.
#
#   --small      2,000 entries in the big directory instead of 20,000 and a
#                64 MiB sparse file instead of 1 GiB, for quick runs
#   --reverse    create entries in reverse order
#   --no-sparse  leave out the sparse/ directory
#   --no-deep    leave out the deep/ directory (whose paths exceed PATH_MAX,
#                which tools such as cp(1) cannot copy)
#   --max-name=N cut names to N bytes (for older tools that mishandle
#                255-byte names; the tests always use the default, 255)
#
# Needs root (owners, device nodes, trusted.* xattrs) and python3.  The
# filesystem holding DIR must support user/trusted/security xattrs and POSIX
# ACLs (ext4, xfs, btrfs and tmpfs do).

set -e

usage() {
	echo "usage: $0 DIR [--small] [--reverse] [--no-sparse] [--no-deep] [--max-name=N]" >&2
	exit 2
}

dir=
small=0
reverse=0
sparse=1
deep=1
maxname=255
for arg in "$@"; do
	case $arg in
	--small) small=1 ;;
	--reverse) reverse=1 ;;
	--no-sparse) sparse=0 ;;
	--no-deep) deep=0 ;;
	--max-name=[1-9]*) maxname=${arg#--max-name=} ;;
	-*) usage ;;
	*) [ -z "$dir" ] || usage; dir=$arg ;;
	esac
done
[ -n "$dir" ] || usage

if ! command -v python3 >/dev/null 2>&1; then
	echo "$0: python3 is required" >&2
	exit 1
fi

mkdir -p -- "$dir"
if [ -n "$(ls -A -- "$dir")" ]; then
	echo "$0: $dir is not empty" >&2
	exit 1
fi

umask 022
exec python3 - "$dir" "$small" "$reverse" "$sparse" "$deep" "$maxname" <<'PYEOF'
import hashlib
import os
import socket
import stat
import struct
import sys

top = os.fsencode(sys.argv[1])
SMALL = sys.argv[2] == "1"
REVERSE = sys.argv[3] == "1"
SPARSE = sys.argv[4] == "1"
DEEP = sys.argv[5] == "1"
MAX_NAME = min(int(sys.argv[6]), 255)

BIG_ENTRIES = 2000 if SMALL else 20000
SPARSE_SIZE = (64 << 20) if SMALL else (1 << 30)
DEFAULT_MTIME_NS = 1600000000 * 10**9 + 123456789

# relative path (bytes) -> mtime in ns, applied by the final pass
special_mtime = {}


def data(seed, n):
    """n deterministic pseudo-random bytes for a seed string."""
    return hashlib.shake_256(seed.encode()).digest(n)


def order(seq):
    seq = list(seq)
    return seq[::-1] if REVERSE else seq


class D:
    """A directory, addressed by descriptor so depth does not matter."""

    def __init__(self, fd, rel):
        self.fd = fd
        self.rel = rel

    def path(self, name):
        return self.rel + b"/" + name if self.rel else name

    def mkdir(self, name, mode=0o755):
        name = os.fsencode(name)[:MAX_NAME]
        os.mkdir(name, 0o700, dir_fd=self.fd)
        os.chmod(name, mode, dir_fd=self.fd)
        return self.sub(name)

    def sub(self, name):
        name = os.fsencode(name)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                     dir_fd=self.fd)
        return D(fd, self.path(name))

    def close(self):
        os.close(self.fd)

    def file(self, name, content=b"", mode=0o644):
        name = os.fsencode(name)[:MAX_NAME]
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600,
                     dir_fd=self.fd)
        view = memoryview(content)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.close(fd)
        os.chmod(name, mode, dir_fd=self.fd)
        return name

    def symlink(self, name, target):
        os.symlink(os.fsencode(target), os.fsencode(name), dir_fd=self.fd)

    def mknod(self, name, mode, dev=0):
        os.mknod(os.fsencode(name), mode, dev, dir_fd=self.fd)

    def link(self, src_dir, src, name):
        os.link(os.fsencode(src), os.fsencode(name), src_dir_fd=src_dir.fd,
                dst_dir_fd=self.fd, follow_symlinks=False)

    def chown(self, name, uid, gid):
        os.chown(os.fsencode(name), uid, gid, dir_fd=self.fd,
                 follow_symlinks=False)

    def chmod(self, name, mode):
        os.chmod(os.fsencode(name), mode, dir_fd=self.fd)

    def setx(self, name, key, value):
        # via /proc/self/fd so that symlinks, devices and FIFOs work too
        fd = os.open(os.fsencode(name), os.O_PATH | os.O_NOFOLLOW,
                     dir_fd=self.fd)
        try:
            os.setxattr("/proc/self/fd/%d" % fd, key, value)
        finally:
            os.close(fd)

    def mtime(self, name, ns):
        special_mtime[self.path(os.fsencode(name))] = ns


def acl(entries):
    """Linux xattr ACL blob: version 2, then (tag, perm, id) entries."""
    tags = {"u": 0x01, "U": 0x02, "g": 0x04, "G": 0x08, "m": 0x10, "o": 0x20}
    blob = struct.pack("<I", 2)
    for tag, perm, ident in entries:
        blob += struct.pack("<HHI", tags[tag], perm, ident)
    return blob


def capability(permitted, effective=True):
    """VFS_CAP_REVISION_2 blob (20 bytes)."""
    magic = 0x02000000 | (1 if effective else 0)
    return struct.pack("<IIIII", magic, permitted & 0xFFFFFFFF, 0,
                       permitted >> 32, 0)


# ---------------------------------------------------------------- sections

def sec_sizes(root):
    d = root.mkdir("sizes")
    sizes = {0, 1, 2, 3, 7, 100}
    for bs in (512, 1024, 2048, 4096):
        for n in (bs - 1, bs, bs + 1, 2 * bs - 1, 2 * bs, 2 * bs + 1,
                  3 * bs + 17):
            sizes.add(n)
    sizes |= {8191, 8193, 65535, 65536, 65537, 131071, 131073}
    for n in order(sorted(sizes)):
        d.file("size-%d" % n, data("size-%d" % n, n))
    d.close()


def sec_random(root):
    d = root.mkdir("random")
    for name, n in order([("rand-1", (1 << 20) + 7), ("rand-2", (3 << 20) + 123),
                          ("rand-3", 65536), ("rand-4", 131073),
                          ("rand-5", 2 << 20), ("rand-6", 4 << 20)]):
        d.file(name, data(name, n))
    # identical contents in different files
    same = data("dup", (1 << 20) + 4096)
    for name in order(["dup-a", "dup-b", "dup-c"]):
        d.file(name, same)
    # partly identical: shares all blocks but the last
    d.file("dup-d", same[:-4096] + data("dup-d", 4096))
    d.close()


def sec_zeros(root):
    d = root.mkdir("zeros")
    for n in order([1, 511, 4096, 100000, 1 << 20, (1 << 20) + 1]):
        d.file("zero-%d" % n, bytes(n))
    # zeros with a little data in the middle
    d.file("zero-mid", bytes(300000) + b"x" + bytes(300000))
    d.close()


def sec_text(root):
    d = root.mkdir("text")
    lines = []
    for i in range(6000):
        lines.append(("line %05d: the quick brown fox jumps over the lazy dog\n"
                      % i).encode())
    d.file("lorem.txt", b"".join(lines))
    d.file("short.txt", b"hello, world\n")
    d.file("crlf.txt", b"one\r\ntwo\r\nthree\r\n")
    d.file("no-newline.txt", b"no newline at the end")
    d.file("utf8.txt", "Grüße, 日本語, ☃, ÆØÅ\n".encode() * 200)
    d.file("script.sh", b"#!/bin/sh\necho hi\n", 0o755)
    d.close()


def sec_dirs(root):
    d = root.mkdir("dirs")
    for name in order(["empty", "empty-2"]):
        d.mkdir(name).close()
    a = d.mkdir("nested")
    b = a.mkdir("a")
    c = b.mkdir("b")
    c.mkdir("empty-deep").close()
    c.file("leaf", b"leaf\n")
    for x in (c, b, a):
        x.close()
    d.mkdir("sticky", 0o1777).close()
    sg = d.mkdir("setgid", 0o2775)
    sg.chown(b".", 0, 4242)
    sg.chmod(b".", 0o2775)
    sg.file("inside", b"inherits the group\n")
    sg.close()
    z = d.mkdir("mode-000", 0o700)
    z.file("hidden", b"behind a 000 directory\n")
    z.close()
    d.chmod("mode-000", 0o000)
    d.mkdir("mode-555", 0o555).close()
    # many subdirectories: nlink of the parent
    m = d.mkdir("many-subdirs")
    for i in order(range(300)):
        m.mkdir("sub-%03d" % i).close()
    m.close()
    d.close()


def sec_big(root):
    d = root.mkdir("big")
    for i in order(range(BIG_ENTRIES)):
        # varying name lengths change how entries pack into blocks
        name = "%05d%s" % (i, "x" * (i % 41))
        if i % 997 == 500:
            d.mkdir("d" + name).close()
        elif i % 1499 == 700:
            d.symlink("l" + name, "f%05d" % (i - 1))
        elif i % 1000 == 3:
            d.file("f" + name, ("entry %d\n" % i).encode())
        else:
            d.file("f" + name)
    d.close()


def random_name(seed, length):
    raw = data(seed, length * 4)
    name = bytes(b for b in raw if b not in (0, 0x2F))[:length]
    if name in (b".", b".."):
        name = b"x" + name
    return name


def sec_names(root):
    d = root.mkdir("names")
    fixed = [
        b"with space", b" leading space", b"trailing space ", b"new\nline",
        b"\nstarts with newline", b"tab\there", b"carriage\rreturn",
        "héllo wörld ☃ 日本語".encode(), "é".encode() * 127,
        "日".encode() * 85, b"\x80\xff\xfe", b"\xc3\x28 invalid utf8",
        b"-dash", b"--double-dash", b"!bang", b"!", b"#hash", b"$dollar",
        b"%percent", b"&amp", b"(paren)", b"*star*", b"+plus", b",comma",
        b"-", b"...", b"..a", b".a", b".hidden", b"~tilde", b"\\backslash",
        b"'quote'", b'"dquote"', b"`tick`", b"?glob[x]", b"a" * 255,
        b"b" * 254, b"\x01\x02\x03\x7f", b"\x1b[31mred\x1b[0m",
        b"A", b"a", b"B", b"Z", b"z", b"0", b"9", b"\xff" * 255,
    ]
    for i, name in order(list(enumerate(fixed))):
        d.file(name, b"fixed name %d\n" % i)
    lengths = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 100, 128, 144, 200, 233,
               250, 253, 254, 255, 255, 255]
    made = set(x[:MAX_NAME] for x in fixed)
    for i, n in order(list(enumerate(lengths))):
        name = random_name("name-%d" % i, min(n, MAX_NAME))
        if name in made:
            continue
        made.add(name)
        d.file(name, b"random name %d\n" % i)
    # odd names on other entry types
    sub = d.mkdir(b"dir with\nnewline \xff")
    sub.file(b"-", b"dash inside\n")
    sub.close()
    d.symlink(b"!link \xe2\x98\x83", b"target \xff\n")
    d.mkdir(b"-dir").close()
    d.mkdir(b"!dir").close()
    d.close()


def sec_deep(root):
    d = root.mkdir("deep")
    d.file("anchor", b"hard-linked from the bottom\n")
    cur = d
    chain = []
    for i in range(200):
        name = "level-%03d-%s" % (i, "abcdefghijklmnopqrstuvwxyz0123456789")
        nxt = cur.mkdir(name)
        if i % 50 == 49:
            nxt.file("file-%03d" % i, data("deep-%d" % i, 5000 + i))
        chain.append(nxt)
        cur = nxt
    cur.file("bottom", b"the bottom of a path longer than PATH_MAX\n")
    cur.symlink("up", "../../..")
    cur.link(d, "anchor", "anchor-link")
    cur.mknod("fifo", stat.S_IFIFO | 0o644)
    for x in reversed(chain):
        x.close()
    d.close()


def sec_links(root):
    d = root.mkdir("symlinks")
    d.symlink("short", "target")
    d.symlink("dangling", "does/not/exist")
    d.symlink("to-dir", "../dirs")
    d.symlink("to-root", "/")
    d.symlink("absolute", "/etc/passwd")
    d.symlink("dot", ".")
    d.symlink("self", "self")
    d.symlink("weird-target", b"sp ace\n\xff\xfe!")
    for n in order([1, 59, 60, 61, 100, 511, 512, 513, 1023, 1024, 1025,
                    2003, 2047, 2048, 2049, 3000, 4000, 4064, 4095]):
        target = (b"t" * 40 + b"/") * (n // 41 + 1)
        d.symlink("len-%d" % n, target[:n])
    d.close()


def sec_devices(root):
    d = root.mkdir("special")
    for name, mode, major, minor in order([
            ("null", stat.S_IFCHR, 1, 3),
            ("whiteout", stat.S_IFCHR, 0, 0),
            ("sda", stat.S_IFBLK, 8, 0),
            ("blk-259-70000", stat.S_IFBLK, 259, 70000),
            ("chr-259-70000", stat.S_IFCHR, 259, 70000),
            ("chr-max", stat.S_IFCHR, 4095, 1048575),
            ("blk-minor-255", stat.S_IFBLK, 7, 255),
            ("blk-minor-256", stat.S_IFBLK, 7, 256)]):
        d.mknod(name, mode | 0o640, os.makedev(major, minor))
    d.mknod("fifo", stat.S_IFIFO | 0o644)
    d.mknod("fifo-000", stat.S_IFIFO | 0o644)
    d.chmod("fifo-000", 0)
    old = os.getcwd()
    os.fchdir(d.fd)
    for name in order(["socket", "socket-2"]):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(name)
        s.close()
    os.chdir(old)
    d.chmod("socket-2", 0o600)
    d.close()


def sec_hardlinks(root):
    d = root.mkdir("hardlinks")
    a = d.mkdir("a")
    b = d.mkdir("b")
    a.file("pair-1", b"a pair\n")
    a.link(a, "pair-1", "pair-2")
    a.file("cross", data("cross", 10000))
    b.link(a, "cross", "cross-in-b")
    d.link(a, "cross", "cross-in-parent")
    root.link(a, "cross", "hardlink-at-top")
    # a bigger group
    d.file("many-0", b"one inode, many names\n")
    for i in order(range(1, 13)):
        d.link(d, "many-0", "many-%d" % i)
    # hard links to things that are not regular files
    d.file("empty", b"")
    d.link(d, "empty", "empty-link")
    d.symlink("sym", "target-of-a-hard-linked-symlink")
    d.link(d, "sym", "sym-link")
    d.mknod("fifo", stat.S_IFIFO | 0o600)
    d.link(d, "fifo", "fifo-link")
    d.mknod("chr", stat.S_IFCHR | 0o600, os.makedev(10, 20))
    b.link(d, "chr", "chr-link")
    # a hard-linked file with xattrs and an odd owner
    d.file("with-xattr", b"xattrs shared by two names\n")
    d.setx("with-xattr", "user.hl", b"linked")
    d.chown("with-xattr", 70000, 70001)
    d.link(d, "with-xattr", "with-xattr-2")
    a.close()
    b.close()
    d.close()


def sec_perms(root):
    d = root.mkdir("perms")
    for mode in order([0o000, 0o001, 0o007, 0o070, 0o400, 0o600, 0o644, 0o755,
                       0o777, 0o1755, 0o2755, 0o4755, 0o6755, 0o7777, 0o4000,
                       0o2000, 0o1000, 0o6711]):
        name = "mode-%04o" % mode
        d.file(name, b"mode test\n")
        d.chmod(name, mode)
    for mode in order([0o000, 0o1777, 0o2755, 0o3777, 0o700]):
        name = "dir-%04o" % mode
        d.mkdir(name).close()
        d.chmod(name, mode)
    d.close()


def sec_owners(root):
    d = root.mkdir("owners")
    for uid, gid in order([(0, 0), (1, 1), (1000, 1000), (65534, 65534),
                           (65535, 65535), (65536, 65537), (100000, 200000),
                           (0, 70000), (70000, 0), (4000000000, 4000000001),
                           (4294967294, 4294967294)]):
        name = "own-%d-%d" % (uid, gid)
        d.file(name, b"owner test\n")
        d.chown(name, uid, gid)
    s = d.mkdir("dir-1000")
    s.close()
    d.chown("dir-1000", 1000, 1000)
    d.symlink("symlink-12345", "x")
    d.chown("symlink-12345", 12345, 54321)
    d.mknod("fifo-70000", stat.S_IFIFO | 0o644)
    d.chown("fifo-70000", 70000, 80000)
    d.file("suid-owned", b"setuid, owned by 1000\n")
    d.chown("suid-owned", 1000, 1000)
    d.chmod("suid-owned", 0o4755)   # chown clears setuid: set it after
    d.close()


def sec_times(root):
    d = root.mkdir("times")
    times = [
        ("epoch", 0),
        ("epoch-plus-1ns", 1),
        ("before-1970", -1 * 10**9),
        ("before-1970-ns", -1000000000 * 10**9 + 999999999),
        ("year-1902", -2147483000 * 10**9 + 5),
        ("y2038-minus-1", (2**31 - 1) * 10**9),
        ("y2038", 2**31 * 10**9 + 1),
        ("year-2100", 4102444800 * 10**9 + 999999999),
        ("year-2400", 13569465600 * 10**9 + 123),
        ("recent", 1700000000 * 10**9),
        ("recent-ns", 1700000000 * 10**9 + 500000000),
        ("same-second-a", 1650000000 * 10**9 + 1),
        ("same-second-b", 1650000000 * 10**9 + 2),
    ]
    for name, ns in order(times):
        d.file(name, b"time test\n")
        d.mtime(name, ns)
    d.mkdir("dir-2100").close()
    d.mtime("dir-2100", 4102444800 * 10**9 + 7)
    d.symlink("symlink-1969", "x")
    d.mtime("symlink-1969", -86400 * 10**9 + 42)
    d.mknod("fifo-2038", stat.S_IFIFO | 0o644)
    d.mtime("fifo-2038", 2**31 * 10**9 + 3)
    d.close()
    root.mtime("times", 1234567890 * 10**9 + 987654321)


SELINUX = b"system_u:object_r:usr_t:s0\x00"


def sec_xattrs(root):
    d = root.mkdir("xattrs")
    d.file("user", b"x\n")
    d.setx("user", "user.greeting", b"hello")
    d.file("empty-value", b"x\n")
    d.setx("empty-value", "user.empty", b"")
    d.file("binary", b"x\n")
    d.setx("binary", "user.binary", bytes(range(256)))
    d.file("large", b"x\n")
    d.setx("large", "user.large", data("xattr-large", 3000))
    d.file("long-name", b"x\n")
    d.setx("long-name", "user." + "n" * 250, b"longest name")
    d.file("many", b"many xattrs on one file\n")
    for i in order(range(40)):
        d.setx("many", "user.many.%02d" % i, b"value-%d" % i)
    for i in order(range(20)):
        d.setx("many", "trusted.many.%02d" % i, data("tm%d" % i, i * 3))
    # the same pairs on many inodes: these get shared
    s = d.mkdir("shared")
    for i in order(range(12)):
        name = "s-%02d" % i
        s.file(name, b"shared xattrs\n")
        s.setx(name, "user.shared", b"common value")
        s.setx(name, "security.selinux", SELINUX)
        s.setx(name, "user.unique", b"only %d" % i)
        if i % 3 == 0:
            s.setx(name, "trusted.overlay.opaque", b"y")
        if i % 2 == 0:
            s.setx(name, "user.shared-large", data("shared-large", 1000))
    s.setx(b".", "security.selinux", SELINUX)
    s.close()
    # security namespace
    d.file("capability", b"#!/bin/true\n", 0o755)
    d.setx("capability", "security.capability",
           capability((1 << 13) | (1 << 21) | (1 << 38)))   # net_raw, sys_admin, perfmon
    d.file("selinux", b"x\n")
    d.setx("selinux", "security.selinux", SELINUX)
    d.file("ima", b"x\n")
    d.setx("ima", "security.ima", b"\x04\x04" + data("ima", 32))
    # POSIX ACLs
    d.file("acl", b"acl\n")
    d.setx("acl", "system.posix_acl_access",
           acl([("u", 6, 0), ("U", 5, 1000), ("U", 7, 4000000000), ("g", 4, 0),
                ("G", 4, 2000), ("m", 7, 0), ("o", 0, 0)]))
    a = d.mkdir("acl-dir")
    a.setx(b".", "system.posix_acl_access",
           acl([("u", 7, 0), ("U", 7, 1000), ("g", 5, 0), ("m", 7, 0), ("o", 5, 0)]))
    a.setx(b".", "system.posix_acl_default",
           acl([("u", 7, 0), ("U", 6, 1000), ("g", 5, 0), ("G", 5, 3000),
                ("m", 7, 0), ("o", 0, 0)]))
    # created after the default ACL: inherits an access ACL from it
    a.file("inherited", b"inherits\n", 0o640)
    a.mkdir("inherited-dir", 0o750).close()
    a.close()
    # overlayfs metadata
    o = d.mkdir("overlay")
    o.setx(b".", "trusted.overlay.opaque", b"y")
    o.setx(b".", "trusted.overlay.redirect", b"/some/where/else")
    o.file("metacopy", b"")
    o.setx("metacopy", "trusted.overlay.metacopy", b"")
    o.setx("metacopy", "trusted.overlay.origin", data("origin", 29))
    o.mknod("whiteout", stat.S_IFCHR | 0o000, 0)
    o.close()
    # non-regular files with xattrs
    d.symlink("symlink", "target")
    d.setx("symlink", "trusted.on-symlink", b"yes")
    d.setx("symlink", "security.selinux", SELINUX)
    d.mknod("fifo", stat.S_IFIFO | 0o644)
    d.setx("fifo", "trusted.on-fifo", b"f")
    d.mknod("chr", stat.S_IFCHR | 0o644, os.makedev(1, 7))
    d.setx("chr", "trusted.on-chr", b"c")
    x = d.mkdir("dir")
    x.setx(b".", "user.on-dir", b"d")
    x.close()
    # everything on one file
    d.file("mixed", b"mixed\n")
    d.setx("mixed", "user.m", b"1")
    d.setx("mixed", "trusted.m", b"2")
    d.setx("mixed", "security.selinux", SELINUX)
    d.setx("mixed", "security.capability", capability(1 << 10))
    d.setx("mixed", "system.posix_acl_access",
           acl([("u", 6, 0), ("U", 4, 65536), ("g", 4, 0), ("m", 4, 0), ("o", 4, 0)]))
    d.setx("mixed", "user.shared", b"common value")
    d.close()


def write_at(fd, off, buf):
    while buf:
        n = os.pwrite(fd, buf, off)
        buf = buf[n:]
        off += n


def sec_sparse(root):
    d = root.mkdir("sparse")
    name = d.file("big-sparse")
    fd = os.open(name, os.O_WRONLY, dir_fd=d.fd)
    os.ftruncate(fd, SPARSE_SIZE)
    write_at(fd, 0, data("sp0", 4096))
    write_at(fd, SPARSE_SIZE // 10 + 123, data("sp1", 5000))
    write_at(fd, SPARSE_SIZE // 2, data("sp2", 65536))
    write_at(fd, SPARSE_SIZE - 10, b"0123456789")
    os.close(fd)
    name = d.file("hole-at-start")
    fd = os.open(name, os.O_WRONLY, dir_fd=d.fd)
    write_at(fd, 8 << 20, data("hs", 4113))
    os.close(fd)
    name = d.file("hole-at-end", data("he", 5000))
    fd = os.open(name, os.O_WRONLY, dir_fd=d.fd)
    os.ftruncate(fd, 16 << 20)
    os.close(fd)
    name = d.file("all-hole")
    fd = os.open(name, os.O_WRONLY, dir_fd=d.fd)
    os.ftruncate(fd, 32 << 20)
    os.close(fd)
    name = d.file("unaligned-hole")
    fd = os.open(name, os.O_WRONLY, dir_fd=d.fd)
    write_at(fd, 0, data("uh0", 1000))
    write_at(fd, (3 << 20) + 1, data("uh1", 1000))
    os.close(fd)
    d.close()


def sec_top(root):
    root.file("!first", b"sorts before '.'\n")
    root.file("-dash-top", b"starts with a dash\n")
    root.file(".hidden-top", b"hidden\n")
    root.file("zz-last", b"last\n")
    root.file("README", b"erofs-forge torture tree\n")


# ------------------------------------------------------------------- main

def set_mtimes(d):
    """Bottom-up, so that no later change touches a directory's mtime."""
    for entry in os.scandir(d.fd):
        name = os.fsencode(entry.name)
        if entry.is_dir(follow_symlinks=False):
            sub = d.sub(name)
            set_mtimes(sub)
            sub.close()
        ns = special_mtime.get(d.path(name), DEFAULT_MTIME_NS)
        os.utime(name, ns=(ns, ns), dir_fd=d.fd, follow_symlinks=False)


def main():
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    root = D(fd, b"")
    os.chmod(b".", 0o755, dir_fd=fd)
    sections = [sec_sizes, sec_random, sec_zeros, sec_text, sec_dirs,
                sec_big, sec_names, sec_links, sec_devices,
                sec_perms, sec_owners, sec_times, sec_xattrs, sec_top]
    if DEEP:
        sections.append(sec_deep)
    if SPARSE:
        sections.append(sec_sparse)
    # hard links reach into the top directory, so they come last
    for sec in order(sections) + [sec_hardlinks]:
        sec(root)
    set_mtimes(root)
    os.utime(b".", ns=(DEFAULT_MTIME_NS, DEFAULT_MTIME_NS), dir_fd=fd)
    root.close()


main()
PYEOF
