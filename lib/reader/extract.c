// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Extraction: the checking walk, with callbacks that create each entry
 * below a directory descriptor.  The image is hostile until proven
 * otherwise, so every creation is relative to an open directory, new files
 * are made with O_EXCL | O_NOFOLLOW, directories are opened with
 * O_NOFOLLOW, and symlinks the image creates are never resolved: their
 * owners, xattrs and times are set on the link itself.  Attributes go on in
 * the order that keeps them: owner (which clears set-id bits and
 * capabilities), xattrs, mode, times; a directory's last, after its
 * entries.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "rd.h"

struct erofs_rd_xdir {
	int fd;
	char *path;		/* for messages, relative to the extraction root */
	bool plain;		/* what is created here belongs to euid:egid */
};

struct erofs_rd_xlink {
	uint64_t nid;		/* UINT64_MAX: free */
	int fd;			/* O_PATH descriptor of the first path, or -1 */
	uint32_t left;		/* links still to make */
};

struct erofs_rd_extractor {
	struct erofs_rd *rd;
	const struct erofs_rd_extract_opts *o;
	int rootfd;
	struct erofs_rd_xlink *links;
	size_t links_cap, links_used;
	char *target;		/* symlink buffer */
	uid_t euid;
	gid_t egid;
	bool root_sgid;		/* the target directory hands its group down */
};

static int erofs_rd_xerr(struct erofs_rd_extractor *x, const struct erofs_rd_xdir *d,
			 const char *name, const char *what, int err)
{
	erofs_rd_msg(x->rd, EROFS_RD_ERR, "extract: %s '%s%s%s': %s", what,
		     d && d->path[0] ? d->path : "", d && d->path[0] ? "/" : "",
		     name, strerror(-err));
	return err;
}

/* ------------------------------------------------------------ attributes */

struct erofs_rd_xattr_set {
	struct erofs_rd_extractor *x;
	int fd;			/* fsetxattr target, or -1 */
	const char *procpath;	/* else setxattr through /proc/self/fd */
	int err;
	const char *failed;
};

static int erofs_rd_set_one_xattr(void *priv, const struct erofs_rd_xattr *xa)
{
	struct erofs_rd_xattr_set *s = priv;
	int ret;

	/* index 0 carries image-internal names that no VFS handler takes */
	if (!xa->short_index)
		return 0;
	if (xa->short_index == EROFS_XATTR_INDEX_TRUSTED &&
	    !(s->x->o->flags & EROFS_RD_EXTRACT_TRUSTED))
		return 0;
	if (s->fd >= 0)
		ret = fsetxattr(s->fd, xa->name, xa->value, xa->value_size, 0);
	else
		ret = setxattr(s->procpath, xa->name, xa->value, xa->value_size, 0);
	if (ret && !s->err) {
		s->err = -errno;
		s->failed = xa->name;
	}
	return 0;
}

static mode_t erofs_rd_final_mode(const struct erofs_rd_extractor *x,
				  const struct erofs_rd_inode *vi)
{
	if (x->o->flags & EROFS_RD_EXTRACT_PERMS)
		return vi->mode & 07777;
	return vi->mode & 0777 & ~x->o->umask;
}

/*
 * Owner, xattrs, mode and times of the entry name in dirfd; fd is an open
 * descriptor of it (regular files, directories) or -1.  mode_done: it was
 * created with its final mode already; in a plain directory, an owner
 * that is the caller's needs no chown.
 */
static int erofs_rd_set_attrs(struct erofs_rd_extractor *x, const struct erofs_rd_xdir *d,
			      const char *name, int fd, const struct erofs_rd_inode *vi,
			      bool mode_done)
{
	unsigned int flags = x->o->flags;
	struct timespec ts[2];
	int err, pfd = -1;
	char proc[40];

	if (flags & EROFS_RD_EXTRACT_OWNER &&
	    !(d && d->plain && vi->uid == x->euid && vi->gid == x->egid)) {
		err = fd >= 0 ? fchown(fd, vi->uid, vi->gid) :
			fchownat(d->fd, name, vi->uid, vi->gid, AT_SYMLINK_NOFOLLOW);
		if (err)
			return erofs_rd_xerr(x, d, name, "cannot set the owner of", -errno);
	}
	if (flags & EROFS_RD_EXTRACT_XATTRS && vi->xattr_isize) {
		struct erofs_rd_xattr_set s = { .x = x, .fd = fd };

		if (fd < 0) {
			pfd = openat(d->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (pfd < 0)
				return erofs_rd_xerr(x, d, name, "cannot open", -errno);
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
			s.procpath = proc;
		}
		err = erofs_rd_xattrs(x->rd, vi, erofs_rd_set_one_xattr, &s);
		if (pfd >= 0)
			close(pfd);
		if (err)
			return err;
		if (s.err) {
			erofs_rd_msg(x->rd, EROFS_RD_ERR, "extract: cannot set xattr '%s' of '%s%s%s': %s",
				     s.failed, d && d->path[0] ? d->path : "",
				     d && d->path[0] ? "/" : "", name, strerror(-s.err));
			return s.err;
		}
	}
	if (!S_ISLNK(vi->mode) && !mode_done) {
		mode_t mode = erofs_rd_final_mode(x, vi);

		err = fd >= 0 ? fchmod(fd, mode) : fchmodat(d->fd, name, mode, 0);
		if (err)
			return erofs_rd_xerr(x, d, name, "cannot set the mode of", -errno);
	}
	ts[0].tv_sec = ts[1].tv_sec = vi->mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = vi->mtime_nsec;
	err = fd >= 0 ? futimens(fd, ts) :
		utimensat(d->fd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (err)
		return erofs_rd_xerr(x, d, name, "cannot set the times of", -errno);
	return 0;
}

/* ------------------------------------------------------------ hard links */

static struct erofs_rd_xlink *erofs_rd_xlink_get(struct erofs_rd_extractor *x,
						 uint64_t nid, bool add)
{
	size_t j;

	if (add && (x->links_used + 1) * 4 > x->links_cap * 3) {
		size_t ncap = x->links_cap ? x->links_cap * 2 : 256, i;
		struct erofs_rd_xlink *nl = malloc(ncap * sizeof(*nl));

		if (!nl)
			return NULL;
		for (i = 0; i < ncap; i++)
			nl[i].nid = UINT64_MAX;
		for (i = 0; i < x->links_cap; i++) {
			if (x->links[i].nid == UINT64_MAX)
				continue;
			j = (x->links[i].nid * 0x9E3779B97F4A7C15ull >> 20) & (ncap - 1);
			while (nl[j].nid != UINT64_MAX)
				j = (j + 1) & (ncap - 1);
			nl[j] = x->links[i];
		}
		free(x->links);
		x->links = nl;
		x->links_cap = ncap;
	}
	if (!x->links_cap)
		return NULL;
	j = (nid * 0x9E3779B97F4A7C15ull >> 20) & (x->links_cap - 1);
	while (x->links[j].nid != UINT64_MAX) {
		if (x->links[j].nid == nid)
			return &x->links[j];
		j = (j + 1) & (x->links_cap - 1);
	}
	if (!add)
		return NULL;
	x->links[j].nid = nid;
	x->links[j].fd = -1;
	x->links[j].left = 0;
	x->links_used++;
	return &x->links[j];
}

/* something is in the way of name: with --overwrite, it goes (unless a dir) */
static int erofs_rd_clear(struct erofs_rd_extractor *x, const struct erofs_rd_xdir *d,
			  const char *name)
{
	if (!(x->o->flags & EROFS_RD_EXTRACT_OVERWRITE))
		return erofs_rd_xerr(x, d, name, "cannot create", -EEXIST);
	if (!unlinkat(d->fd, name, 0))
		return 0;
	if ((errno == EISDIR || errno == EPERM) && !unlinkat(d->fd, name, AT_REMOVEDIR))
		return 0;
	return erofs_rd_xerr(x, d, name, "cannot replace", -errno);
}

static int erofs_rd_make_link(struct erofs_rd_extractor *x, const struct erofs_rd_xdir *d,
			      const char *name, struct erofs_rd_xlink *l)
{
	char proc[40];
	int tries;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", l->fd);
	for (tries = 0; tries < 2; tries++) {
		if (!linkat(l->fd, "", d->fd, name, AT_EMPTY_PATH))
			return 0;
		if (errno == ENOENT || errno == EPERM)
			if (!linkat(AT_FDCWD, proc, d->fd, name, AT_SYMLINK_FOLLOW))
				return 0;
		if (errno != EEXIST || tries)
			break;
		if (erofs_rd_clear(x, d, name))
			return -EEXIST;
	}
	return erofs_rd_xerr(x, d, name, "cannot make the hard link", -errno);
}

/* ------------------------------------------------------------ entries */

static int erofs_rd_create_file(struct erofs_rd_extractor *x, const struct erofs_rd_xdir *d,
				const char *name, const struct erofs_rd_inode *vi)
{
	const int oflags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	mode_t mode = erofs_rd_final_mode(x, vi), cmode = 0600;
	bool mode_done = false;
	int fd, err;

	/*
	 * The final mode can be given to openat() when the umask leaves it
	 * alone, it has no set-id bits (a chown would clear them) and, if
	 * xattrs follow, the owner may still write them.
	 */
	if (!(mode & 07000) && !(mode & x->o->umask) &&
	    (!vi->xattr_isize || mode & 0200)) {
		cmode = mode;
		mode_done = true;
	}
	fd = openat(d->fd, name, oflags, cmode);
	if (fd < 0 && errno == EEXIST) {
		err = erofs_rd_clear(x, d, name);
		if (err)
			return err;
		fd = openat(d->fd, name, oflags, cmode);
	}
	if (fd < 0)
		return erofs_rd_xerr(x, d, name, "cannot create", -errno);
	err = erofs_rd_copy_to_fd(x->rd, vi, fd);
	if (err) {
		if (err != -EFSCORRUPTED && err != -EOPNOTSUPP)
			erofs_rd_xerr(x, d, name, "cannot write", err);
		goto out;
	}
	err = erofs_rd_set_attrs(x, d, name, fd, vi, mode_done);
out:
	close(fd);
	return err;
}

static int erofs_rd_create_other(struct erofs_rd_extractor *x, const struct erofs_rd_xdir *d,
				 const char *name, const struct erofs_rd_inode *vi)
{
	int tries, ret, err;

	if (S_ISLNK(vi->mode)) {
		err = erofs_rd_readlink(x->rd, vi, x->target, 4096);
		if (err)
			return err;
	}
	for (tries = 0; tries < 2; tries++) {
		if (S_ISLNK(vi->mode))
			ret = symlinkat(x->target, d->fd, name);
		else
			ret = mknodat(d->fd, name, (vi->mode & S_IFMT) | 0600,
				      makedev(vi->rdev_major, vi->rdev_minor));
		if (!ret)
			break;
		if (errno != EEXIST || tries)
			return erofs_rd_xerr(x, d, name, "cannot create", -errno);
		err = erofs_rd_clear(x, d, name);
		if (err)
			return err;
	}
	return erofs_rd_set_attrs(x, d, name, -1, vi, false);
}

static int erofs_rd_x_entry(void *priv, void *parent, const char *name,
			    unsigned int namelen, const struct erofs_rd_inode *vi,
			    bool first)
{
	struct erofs_rd_extractor *x = priv;
	struct erofs_rd_xdir *d = parent;
	struct erofs_rd_xlink *l = NULL;
	int err;

	if (!d)
		return 0;
	if (!first) {
		l = erofs_rd_xlink_get(x, vi->nid, false);
		if (l && l->fd >= 0) {
			err = erofs_rd_make_link(x, d, name, l);
			if (!err && !--l->left) {
				close(l->fd);
				l->fd = -1;
			}
			return err;
		}
		/* the first path could not be kept open: a copy will do */
		erofs_rd_msg(x->rd, EROFS_RD_WARN,
			     "extract: '%s/%s' extracted as a copy, not as a hard link",
			     d->path, name);
	}
	if (S_ISREG(vi->mode))
		err = erofs_rd_create_file(x, d, name, vi);
	else
		err = erofs_rd_create_other(x, d, name, vi);
	if (err || !first || vi->nlink < 2)
		return err;
	l = erofs_rd_xlink_get(x, vi->nid, true);
	if (!l)
		return -ENOMEM;
	l->fd = openat(d->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	l->left = vi->nlink - 1;
	return 0;
}

static int erofs_rd_x_enter(void *priv, void *parent, const char *name,
			    unsigned int namelen, const struct erofs_rd_inode *dir,
			    void **child)
{
	struct erofs_rd_extractor *x = priv;
	struct erofs_rd_xdir *pd = parent, *d;
	bool plain = !x->root_sgid;
	int fd, tries;

	if (!pd) {
		fd = dup(x->rootfd);
		if (fd < 0)
			return -errno;
	} else {
		for (tries = 0; ; tries++) {
			if (!mkdirat(pd->fd, name, 0700))
				;
			else if (errno == EEXIST)
				plain = false;	/* not ours: who knows its group rules */
			else
				return erofs_rd_xerr(x, pd, name, "cannot create directory", -errno);
			fd = openat(pd->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				break;
			if ((errno != ENOTDIR && errno != ELOOP) || tries)
				return erofs_rd_xerr(x, pd, name, "cannot open directory", -errno);
			if (erofs_rd_clear(x, pd, name))
				return -EEXIST;
		}
	}
	d = malloc(sizeof(*d));
	if (d) {
		size_t plen = pd ? strlen(pd->path) : 0;

		d->path = malloc(plen + namelen + 2);
		if (d->path) {
			if (plen)
				snprintf(d->path, plen + namelen + 2, "%s/%s", pd->path, name);
			else
				memcpy(d->path, name, namelen + 1);
		} else {
			free(d);
			d = NULL;
		}
	}
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->fd = fd;
	d->plain = plain && (!pd || pd->plain);
	*child = d;
	return 0;
}

static int erofs_rd_x_leave(void *priv, void *ctx, const struct erofs_rd_inode *dir)
{
	struct erofs_rd_extractor *x = priv;
	struct erofs_rd_xdir *d = ctx;
	int err = 0;

	if (!d)
		return 0;
	if (dir)
		err = erofs_rd_set_attrs(x, NULL, d->path[0] ? d->path : ".", d->fd, dir, false);
	close(d->fd);
	free(d->path);
	free(d);
	return err;
}

static const struct erofs_rd_walk_ops erofs_rd_extract_ops = {
	.enter_dir = erofs_rd_x_enter,
	.leave_dir = erofs_rd_x_leave,
	.entry = erofs_rd_x_entry,
};

int erofs_rd_extract(struct erofs_rd *rd, int rootfd,
		     const struct erofs_rd_extract_opts *opts,
		     struct erofs_rd_stats *stats)
{
	struct erofs_rd_extractor x = { .rd = rd, .o = opts, .rootfd = rootfd };
	struct stat st;
	size_t i;
	int err;

	if (fstat(rootfd, &st))
		return -errno;
	x.euid = geteuid();
	x.egid = getegid();
	x.root_sgid = st.st_mode & S_ISGID;

	x.target = malloc(4096);
	if (!x.target)
		return -ENOMEM;
	err = erofs_rd_check(rd, opts->check_flags, &erofs_rd_extract_ops, &x, stats);
	for (i = 0; i < x.links_cap; i++)
		if (x.links[i].nid != UINT64_MAX && x.links[i].fd >= 0)
			close(x.links[i].fd);
	free(x.links);
	free(x.target);
	return err;
}
