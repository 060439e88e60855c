// SPDX-License-Identifier: MIT
/*
 * treecmp: compare two directory trees, the oracle of the end-to-end tests.
 *
 * Usage: treecmp [OPTIONS] A B
 *
 * A is normally the source tree and B the mounted image.  The walk never
 * follows symlinks and works on directory file descriptors only (openat,
 * fstatat), so trees deeper than PATH_MAX are fine.  Per entry it compares
 * the type, permission bits, owner, mtime (seconds and nanoseconds), size,
 * contents of regular files, symlink targets, device numbers, the complete
 * set of extended attributes and the hard-link structure: entries that share
 * an inode in A must share one in B and vice versa, with equal link counts.
 *
 * Xattrs are read through /proc/self/fd/N of an O_PATH descriptor.  That
 * reaches symlinks, devices and FIFOs without opening them for I/O.
 *
 * Exit status: 0 equal, 1 differences found, 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

struct opts {
	bool ignore_mtime;
	bool ignore_dir_nlink;	/* A is an overlayfs merge, which counts 1 */
	bool have_mtime;		/* --mtime: every mtime in B is this */
	long long mtime;
	bool have_clamp;		/* --clamp-mtime: B = min(A, this) */
	long long clamp;
	bool have_uid, have_gid;
	unsigned long long uid, gid;
	bool no_xattrs;			/* B must carry no xattrs at all */
	bool ignore_xattrs;
	bool ignore_root_mtime;
	bool quiet;
	bool verbose;
	unsigned long max_print;
	char **excludes;
	size_t nexcludes;
};

static struct opts o = { .max_print = 1000 };

static unsigned long ndiffs;
static unsigned long nentries;

/* current relative path, grown as the walk descends */
static char *path;
static size_t path_len, path_cap;

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "treecmp: out of memory\n");
		exit(2);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "treecmp: out of memory\n");
		exit(2);
	}
	return p;
}

static size_t path_push(const char *name)
{
	size_t old = path_len, n = strlen(name);

	if (path_len + n + 2 > path_cap) {
		path_cap = (path_len + n + 2) * 2;
		path = xrealloc(path, path_cap);
	}
	if (path_len)
		path[path_len++] = '/';
	memcpy(path + path_len, name, n + 1);
	path_len += n;
	return old;
}

static void path_pop(size_t old)
{
	path_len = old;
	path[path_len] = '\0';
}

/* Print bytes so that any name is readable and unambiguous on one line. */
static void put_escaped(FILE *f, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '\\')
			fputs("\\\\", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

/* Escaped copy of s, for messages that quote a second path. */
static char *esc(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return strdup("?");
	put_escaped(f, s, strlen(s));
	fclose(f);
	return buf;
}

static void diff(const char *fmt, ...)
{
	va_list ap;

	ndiffs++;
	if (o.quiet || ndiffs > o.max_print)
		return;
	fputs("treecmp: '", stdout);
	if (path_len)
		put_escaped(stdout, path, path_len);
	else
		fputs(".", stdout);
	fputs("': ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* ---- hard links: A inode <-> B inode, both ways ---- */

struct ino_key {
	dev_t dev;
	ino_t ino;
};

struct link_ent {
	struct ino_key a, b;
	nlink_t nlink_a, nlink_b;
	unsigned long seen;		/* entries of this group met so far */
	char *first;			/* path of the first one, for messages */
	bool used;
};

struct link_map {
	struct link_ent *slots;
	size_t cap, count;
};

static struct link_map by_a, by_b;

static uint64_t key_hash(const struct ino_key *k)
{
	uint64_t h = (uint64_t)k->ino * 0x9E3779B97F4A7C15ull;

	h ^= (uint64_t)k->dev + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	return h;
}

static bool key_eq(const struct ino_key *x, const struct ino_key *y)
{
	return x->dev == y->dev && x->ino == y->ino;
}

static struct link_ent *map_slot(struct link_map *m, const struct ino_key *k,
				 bool by_b_side)
{
	size_t mask = m->cap - 1, i = key_hash(k) & mask;

	for (;;) {
		struct link_ent *e = &m->slots[i];

		if (!e->used || key_eq(by_b_side ? &e->b : &e->a, k))
			return e;
		i = (i + 1) & mask;
	}
}

static void map_grow(struct link_map *m, bool by_b_side)
{
	struct link_map n = { .cap = m->cap ? m->cap * 2 : 4096 };

	n.slots = calloc(n.cap, sizeof(*n.slots));
	if (!n.slots) {
		fprintf(stderr, "treecmp: out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].used)
			continue;
		*map_slot(&n, by_b_side ? &m->slots[i].b : &m->slots[i].a,
			  by_b_side) = m->slots[i];
		n.count++;
	}
	free(m->slots);
	*m = n;
}

static struct link_ent *map_get(struct link_map *m, const struct ino_key *k,
				bool by_b_side, bool *fresh)
{
	struct link_ent *e;

	if ((m->count + 1) * 2 > m->cap)
		map_grow(m, by_b_side);
	e = map_slot(m, k, by_b_side);
	*fresh = !e->used;
	if (!e->used) {
		memset(e, 0, sizeof(*e));
		e->used = true;
		m->count++;
	}
	return e;
}

static void track_link(const struct stat *a, const struct stat *b)
{
	struct ino_key ka = { a->st_dev, a->st_ino };
	struct ino_key kb = { b->st_dev, b->st_ino };
	struct link_ent *ea, *eb;
	bool fa, fb;

	ea = map_get(&by_a, &ka, false, &fa);
	if (fa) {
		ea->a = ka;
		ea->b = kb;
		ea->nlink_a = a->st_nlink;
		ea->nlink_b = b->st_nlink;
		ea->first = strdup(path);
	} else if (!key_eq(&ea->b, &kb)) {
		char *e = esc(ea->first ? ea->first : "?");

		diff("hard link to '%s' in A is not a hard link in B", e);
		free(e);
	}
	ea->seen++;

	eb = map_get(&by_b, &kb, true, &fb);
	if (fb) {
		eb->a = ka;
		eb->b = kb;
		eb->first = strdup(path);
	} else if (!key_eq(&eb->a, &ka)) {
		char *e = esc(eb->first ? eb->first : "?");

		diff("shares its inode in B with '%s', but not in A", e);
		free(e);
	}
	eb->seen++;
}

/* Every B inode must have exactly as many links as entries seen in B. */
static void check_link_counts(void)
{
	size_t saved = path_len;

	for (size_t i = 0; i < by_b.cap; i++) {
		struct link_ent *e = &by_b.slots[i];
		struct link_ent *ea;
		bool fresh;

		if (!e->used)
			continue;
		ea = map_get(&by_a, &e->a, false, &fresh);
		if (fresh)
			continue;	/* cannot happen; keep the map sane */
		if (ea->nlink_b != e->seen) {
			path_len = 0;
			path_push(e->first ? e->first : "?");
			diff("nlink in B is %lu but B has %lu entries for it",
			     (unsigned long)ea->nlink_b, e->seen);
		}
	}
	path_pop(saved);
}

/* ---- exclusions ---- */

static bool excluded(void)
{
	for (size_t i = 0; i < o.nexcludes; i++)
		if (!strcmp(o.excludes[i], path))
			return true;
	return false;
}

/* ---- xattrs ---- */

struct xattr {
	char *name;
	char *value;
	ssize_t size;
};

static int name_cmp(const void *x, const void *y)
{
	return strcmp(((const struct xattr *)x)->name,
		      ((const struct xattr *)y)->name);
}

/* Reads all xattrs of the entry under O_PATH descriptor fd; -1 on error. */
static ssize_t read_xattrs(int fd, struct xattr **out, const char *side)
{
	char proc[64], *list = NULL;
	ssize_t len, n = 0;
	struct xattr *xs = NULL;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (;;) {
		len = listxattr(proc, NULL, 0);
		if (len < 0)
			goto err;
		list = xrealloc(list, len + 1);
		len = listxattr(proc, list, len);
		if (len >= 0)
			break;
		if (errno != ERANGE)
			goto err;
	}
	for (ssize_t off = 0; off < len; off += strlen(list + off) + 1)
		n++;
	xs = xmalloc(n * sizeof(*xs));
	n = 0;
	for (ssize_t off = 0; off < len; off += strlen(list + off) + 1) {
		struct xattr *x = &xs[n];
		ssize_t vlen;

		x->name = strdup(list + off);
		x->value = NULL;
		for (;;) {
			vlen = getxattr(proc, x->name, NULL, 0);
			if (vlen < 0)
				break;
			x->value = xrealloc(x->value, vlen);
			vlen = getxattr(proc, x->name, x->value, vlen);
			if (vlen >= 0 || errno != ERANGE)
				break;
		}
		if (vlen < 0) {
			diff("%s: getxattr '%s': %s", side, x->name,
			     strerror(errno));
			free(x->name);
			free(x->value);
			continue;
		}
		x->size = vlen;
		n++;
	}
	free(list);
	if (n)
		qsort(xs, n, sizeof(*xs), name_cmp);
	*out = xs;
	return n;
err:
	if (errno == ENOTSUP) {	/* e.g. a filesystem without xattrs */
		free(list);
		*out = NULL;
		return 0;
	}
	diff("%s: listxattr: %s", side, strerror(errno));
	free(list);
	*out = NULL;
	return -1;
}

static void free_xattrs(struct xattr *xs, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		free(xs[i].name);
		free(xs[i].value);
	}
	free(xs);
}

static void put_value(const char *v, ssize_t n)
{
	ssize_t show = n > 32 ? 32 : n;

	for (ssize_t i = 0; i < show; i++)
		printf("%02x", (unsigned char)v[i]);
	if (show < n)
		printf("...");
}

static void compare_xattrs(int fa, int fb)
{
	struct xattr *xa = NULL, *xb = NULL;
	ssize_t na = 0, nb, i = 0, j = 0;

	if (!o.no_xattrs) {
		na = read_xattrs(fa, &xa, "A");
		if (na < 0)
			return;
	}
	nb = read_xattrs(fb, &xb, "B");
	if (nb < 0) {
		free_xattrs(xa, na);
		return;
	}
	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(xa[i].name, xb[j].name);

		if (c < 0) {
			diff("xattr '%s' missing in B", xa[i].name);
			i++;
		} else if (c > 0) {
			if (o.no_xattrs)
				diff("xattr '%s' present in B (expected none)",
				     xb[j].name);
			else
				diff("xattr '%s' only in B", xb[j].name);
			j++;
		} else {
			if (xa[i].size != xb[j].size ||
			    memcmp(xa[i].value, xb[j].value, xa[i].size)) {
				diff("xattr '%s' differs: A=%zd bytes B=%zd bytes",
				     xa[i].name, xa[i].size, xb[j].size);
				if (!o.quiet && ndiffs <= o.max_print) {
					printf("    A: ");
					put_value(xa[i].value, xa[i].size);
					printf("\n    B: ");
					put_value(xb[j].value, xb[j].size);
					printf("\n");
				}
			}
			i++;
			j++;
		}
	}
	free_xattrs(xa, na);
	free_xattrs(xb, nb);
}

/* ---- contents ---- */

#define BUFSZ (1 << 20)
static char *bufa, *bufb;

static off_t next_data(int fd, off_t off, off_t size)
{
	off_t r = lseek(fd, off, SEEK_DATA);

	if (r < 0)
		return errno == ENXIO ? size : off;	/* no SEEK_DATA: all data */
	return r > size ? size : r;
}

static off_t next_hole(int fd, off_t off, off_t size)
{
	off_t r = lseek(fd, off, SEEK_HOLE);

	if (r < 0 || r > size)
		return size;
	return r;
}

static ssize_t read_full(int fd, char *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, buf + done, n - done, off + done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!r)
			break;
		done += r;
	}
	return done;
}

static void compare_content(int dfa, int dfb, const char *name, off_t size)
{
	int fa, fb;
	off_t off = 0;

	fa = openat(dfa, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fa < 0) {
		diff("A: open: %s", strerror(errno));
		return;
	}
	fb = openat(dfb, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fb < 0) {
		diff("B: open: %s", strerror(errno));
		close(fa);
		return;
	}
	/*
	 * Ranges that are holes on both sides read as zeros on both sides and
	 * are skipped; everything else is read and compared byte for byte.
	 */
	while (off < size) {
		off_t da = next_data(fa, off, size), db = next_data(fb, off, size);
		off_t start = da < db ? da : db, end;

		if (start >= size)
			break;
		end = next_hole(fa, start, size);
		if (next_hole(fb, start, size) > end)
			end = next_hole(fb, start, size);
		if (end <= start)
			end = start + 1;
		for (off = start; off < end;) {
			size_t n = end - off > BUFSZ ? BUFSZ : end - off;
			ssize_t ra = read_full(fa, bufa, n, off);
			ssize_t rb = read_full(fb, bufb, n, off);

			if (ra < 0 || rb < 0) {
				diff("%s: read error at %lld: %s",
				     ra < 0 ? "A" : "B", (long long)off,
				     strerror(errno));
				goto out;
			}
			if (ra != rb || (size_t)ra != n) {
				diff("short read at %lld: A=%zd B=%zd of %zu",
				     (long long)off, ra, rb, n);
				goto out;
			}
			if (memcmp(bufa, bufb, n)) {
				size_t k = 0;

				while (bufa[k] == bufb[k])
					k++;
				diff("content differs at byte %lld",
				     (long long)(off + k));
				goto out;
			}
			off += n;
		}
	}
	/* B must not hold more bytes than its size says */
	if (read_full(fb, bufb, 1, size) > 0)
		diff("B: readable past its size %lld", (long long)size);
out:
	close(fa);
	close(fb);
}

static void compare_symlink(int dfa, int dfb, const char *name, off_t size)
{
	size_t cap = size + 2 > 4097 ? size + 2 : 4097;
	char *ta = xmalloc(cap), *tb = xmalloc(cap);
	ssize_t la = readlinkat(dfa, name, ta, cap);
	ssize_t lb = readlinkat(dfb, name, tb, cap);

	if (la < 0)
		diff("A: readlink: %s", strerror(errno));
	else if (lb < 0)
		diff("B: readlink: %s", strerror(errno));
	else if (la != lb || memcmp(ta, tb, la))
		diff("symlink target differs (A %zd bytes, B %zd bytes)", la, lb);
	free(ta);
	free(tb);
}

/* ---- metadata ---- */

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symlink";
	case S_IFCHR: return "char device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	}
	return "unknown";
}

static void compare_mtime(const struct stat *a, const struct stat *b, bool root)
{
	long long as = a->st_mtim.tv_sec, bs = b->st_mtim.tv_sec;
	long an = a->st_mtim.tv_nsec, bn = b->st_mtim.tv_nsec;

	if (o.have_mtime) {
		if (bs != o.mtime || bn != 0)
			diff("mtime %lld.%09ld, expected %lld.000000000",
			     bs, bn, o.mtime);
		return;
	}
	if (o.ignore_mtime || (root && o.ignore_root_mtime))
		return;
	if (o.have_clamp && as >= o.clamp) {
		/*
		 * Newer than the epoch: clamped.  Exactly the epoch with a
		 * fraction may keep or drop the fraction.
		 */
		if (bs != o.clamp || (bn != 0 && !(as == o.clamp && bn == an)))
			diff("mtime %lld.%09ld, expected clamped to %lld (A %lld.%09ld)",
			     bs, bn, o.clamp, as, an);
		return;
	}
	if (as != bs || an != bn)
		diff("mtime differs: A=%lld.%09ld B=%lld.%09ld", as, an, bs, bn);
}

/* Compares two entries that exist on both sides and have been stat'ed. */
static void compare_meta(const struct stat *a, const struct stat *b, bool root)
{
	unsigned long long wuid = o.have_uid ? o.uid : a->st_uid;
	unsigned long long wgid = o.have_gid ? o.gid : a->st_gid;

	if ((a->st_mode & 07777) != (b->st_mode & 07777))
		diff("mode differs: A=%04o B=%04o", a->st_mode & 07777,
		     b->st_mode & 07777);
	if (b->st_uid != wuid)
		diff("uid %u, expected %llu", b->st_uid, wuid);
	if (b->st_gid != wgid)
		diff("gid %u, expected %llu", b->st_gid, wgid);
	compare_mtime(a, b, root);

	switch (a->st_mode & S_IFMT) {
	case S_IFREG:
	case S_IFLNK:
		if (a->st_size != b->st_size)
			diff("size differs: A=%lld B=%lld",
			     (long long)a->st_size, (long long)b->st_size);
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (major(a->st_rdev) != major(b->st_rdev) ||
		    minor(a->st_rdev) != minor(b->st_rdev))
			diff("device differs: A=%u:%u B=%u:%u",
			     major(a->st_rdev), minor(a->st_rdev),
			     major(b->st_rdev), minor(b->st_rdev));
		break;
	}
	if (!S_ISDIR(a->st_mode) && !o.nexcludes && a->st_nlink != b->st_nlink)
		diff("nlink differs: A=%lu B=%lu", (unsigned long)a->st_nlink,
		     (unsigned long)b->st_nlink);
}

/* ---- directories ---- */

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static char **list_dir(int dfd, size_t *count, const char *side)
{
	int fd = dup(dfd);
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		diff("%s: cannot list: %s", side, strerror(errno));
		if (fd >= 0)
			close(fd);
		*count = 0;
		return NULL;
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(de->d_name);
	}
	if (errno)
		diff("%s: readdir: %s", side, strerror(errno));
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), str_cmp);
	*count = n;
	return names;
}

static void compare_dir(int dfa, int dfb);

static void compare_entry(int dfa, int dfb, const char *name)
{
	struct stat a, b;
	int fa, fb;

	if (fstatat(dfa, name, &a, AT_SYMLINK_NOFOLLOW)) {
		diff("A: stat: %s", strerror(errno));
		return;
	}
	if (fstatat(dfb, name, &b, AT_SYMLINK_NOFOLLOW)) {
		diff("B: stat: %s", strerror(errno));
		return;
	}
	nentries++;
	if ((a.st_mode & S_IFMT) != (b.st_mode & S_IFMT)) {
		diff("type differs: A=%s B=%s", type_name(a.st_mode),
		     type_name(b.st_mode));
		return;
	}
	compare_meta(&a, &b, false);
	if (!S_ISDIR(a.st_mode))
		track_link(&a, &b);

	if (!o.ignore_xattrs) {
		fa = openat(dfa, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		fb = openat(dfb, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fa < 0 || fb < 0)
			diff("%s: open O_PATH: %s", fa < 0 ? "A" : "B",
			     strerror(errno));
		else
			compare_xattrs(fa, fb);
		if (fa >= 0)
			close(fa);
		if (fb >= 0)
			close(fb);
	}

	if (S_ISREG(a.st_mode) && a.st_size == b.st_size)
		compare_content(dfa, dfb, name, a.st_size);
	else if (S_ISLNK(a.st_mode))
		compare_symlink(dfa, dfb, name, a.st_size);
	else if (S_ISDIR(a.st_mode)) {
		fa = openat(dfa, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fa < 0) {
			diff("A: open directory: %s", strerror(errno));
			return;
		}
		fb = openat(dfb, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fb < 0) {
			diff("B: open directory: %s", strerror(errno));
			close(fa);
			return;
		}
		compare_dir(fa, fb);
		close(fa);
		close(fb);
	}
}

/*
 * Compares the children of two directories.  Returns, through the walk, the
 * number of excluded subdirectories so the caller can check nlink.
 */
static unsigned long compare_children(int dfa, int dfb)
{
	size_t na, nb, i = 0, j = 0;
	char **la = list_dir(dfa, &na, "A");
	char **lb = list_dir(dfb, &nb, "B");
	unsigned long excl_dirs = 0;

	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(la[i], lb[j]);
		const char *name = c <= 0 ? la[i] : lb[j];
		size_t old = path_push(name);
		bool is_excl = o.nexcludes && excluded();

		if (is_excl) {
			struct stat st;

			if (c < 0 && !fstatat(dfa, name, &st, AT_SYMLINK_NOFOLLOW) &&
			    S_ISDIR(st.st_mode))
				excl_dirs++;
			if (c >= 0)
				diff("excluded, but present in B");
		} else if (c < 0) {
			diff("only in A");
		} else if (c > 0) {
			diff("only in B");
		} else {
			compare_entry(dfa, dfb, name);
		}
		path_pop(old);
		if (c <= 0)
			free(la[i++]);
		if (c >= 0)
			free(lb[j++]);
	}
	free(la);
	free(lb);
	return excl_dirs;
}

static void compare_dir(int dfa, int dfb)
{
	struct stat a, b;
	unsigned long excl = compare_children(dfa, dfb);

	/* nlink is checked last: it depends on the excluded subdirectories */
	if (fstat(dfa, &a) || fstat(dfb, &b)) {
		diff("fstat: %s", strerror(errno));
		return;
	}
	if (!o.ignore_dir_nlink && a.st_nlink - excl != b.st_nlink)
		diff("directory nlink differs: A=%lu (%lu subdirectories excluded) B=%lu",
		     (unsigned long)a.st_nlink, excl, (unsigned long)b.st_nlink);
}

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: treecmp [OPTIONS] A B\n"
		"Compare tree B (normally a mounted image) against tree A.\n"
		"  --ignore-mtime        do not compare mtimes\n"
		"  --ignore-root-mtime   do not compare the mtime of the top directory\n"
		"  --ignore-dir-nlink    do not compare directory link counts (overlayfs\n"
		"                        reports 1 for merged directories)\n"
		"  --mtime=SEC           expect every mtime in B to be SEC.0\n"
		"  --clamp-mtime=SEC     expect B mtime = A mtime, or SEC where A is newer\n"
		"  --uid=N, --gid=N      expect every owner in B to be N\n"
		"  --no-xattrs           expect B to carry no xattrs at all\n"
		"  --ignore-xattrs       do not compare xattrs\n"
		"  --exclude=RELPATH     RELPATH (and below) must be absent from B\n"
		"  --max-print=N         print at most N differences (default 1000)\n"
		"  -q, --quiet           print nothing, only set the exit status\n"
		"  -v, --verbose         print the number of entries compared\n");
	exit(code);
}

static long long num_arg(const char *opt, const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !*s || *end) {
		fprintf(stderr, "treecmp: bad number for %s: '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct stat a, b;
	int dfa, dfb, i;
	char *args[2];
	int nargs = 0;

	for (i = 1; i < argc; i++) {
		char *s = argv[i];

		if (!strcmp(s, "--ignore-mtime"))
			o.ignore_mtime = true;
		else if (!strcmp(s, "--ignore-root-mtime"))
			o.ignore_root_mtime = true;
		else if (!strcmp(s, "--ignore-dir-nlink"))
			o.ignore_dir_nlink = true;
		else if (!strncmp(s, "--mtime=", 8))
			o.have_mtime = true, o.mtime = num_arg("--mtime", s + 8);
		else if (!strncmp(s, "--clamp-mtime=", 14))
			o.have_clamp = true, o.clamp = num_arg("--clamp-mtime", s + 14);
		else if (!strncmp(s, "--uid=", 6))
			o.have_uid = true, o.uid = num_arg("--uid", s + 6);
		else if (!strncmp(s, "--gid=", 6))
			o.have_gid = true, o.gid = num_arg("--gid", s + 6);
		else if (!strcmp(s, "--no-xattrs"))
			o.no_xattrs = true;
		else if (!strcmp(s, "--ignore-xattrs"))
			o.ignore_xattrs = true;
		else if (!strncmp(s, "--exclude=", 10)) {
			char *p = s + 10;
			size_t n = strlen(p);

			while (n > 1 && p[n - 1] == '/')
				p[--n] = '\0';
			while (p[0] == '.' && p[1] == '/')
				p += 2;
			o.excludes = xrealloc(o.excludes,
					      (o.nexcludes + 1) * sizeof(char *));
			o.excludes[o.nexcludes++] = p;
		} else if (!strncmp(s, "--max-print=", 12))
			o.max_print = num_arg("--max-print", s + 12);
		else if (!strcmp(s, "-q") || !strcmp(s, "--quiet"))
			o.quiet = true;
		else if (!strcmp(s, "-v") || !strcmp(s, "--verbose"))
			o.verbose = true;
		else if (!strcmp(s, "-h") || !strcmp(s, "--help"))
			usage(0);
		else if (!strcmp(s, "--") && i + 1 < argc) {
			while (++i < argc && nargs < 2)
				args[nargs++] = argv[i];
			break;
		} else if (s[0] == '-' && s[1]) {
			fprintf(stderr, "treecmp: unknown option '%s'\n", s);
			usage(2);
		} else if (nargs < 2)
			args[nargs++] = s;
		else
			usage(2);
	}
	if (nargs != 2)
		usage(2);

	/* two descriptors per level of a deep tree */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	dfa = open(args[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfa < 0) {
		fprintf(stderr, "treecmp: %s: %s\n", args[0], strerror(errno));
		return 2;
	}
	dfb = open(args[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfb < 0) {
		fprintf(stderr, "treecmp: %s: %s\n", args[1], strerror(errno));
		return 2;
	}
	bufa = xmalloc(BUFSZ);
	bufb = xmalloc(BUFSZ);
	path_cap = 4096;
	path = xmalloc(path_cap);
	path[0] = '\0';

	/* the top directories themselves */
	if (fstat(dfa, &a) || fstat(dfb, &b)) {
		fprintf(stderr, "treecmp: fstat: %s\n", strerror(errno));
		return 2;
	}
	nentries++;
	compare_meta(&a, &b, true);
	compare_dir(dfa, dfb);
	if (!o.ignore_xattrs) {
		int fa = open(args[0], O_PATH | O_CLOEXEC);
		int fb = open(args[1], O_PATH | O_CLOEXEC);

		if (fa >= 0 && fb >= 0)
			compare_xattrs(fa, fb);
		else
			diff("open O_PATH: %s", strerror(errno));
	}
	check_link_counts();

	if (o.verbose)
		printf("treecmp: %lu entries compared, %lu differences\n",
		       nentries, ndiffs);
	if (ndiffs > o.max_print && !o.quiet)
		printf("treecmp: ... %lu more differences not shown\n",
		       ndiffs - o.max_print);
	return ndiffs ? 1 : 0;
}
