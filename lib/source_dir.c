// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Directory source: walks a tree with *at() calls relative to open directory
 * descriptors (trees deeper than PATH_MAX work), and fills the in-memory tree
 * with metadata, xattrs, symlink targets and the data ranges of sparse
 * files.  The output image, if it sits inside the tree, is left out.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "internal.h"

static int relpath_push(struct erofs_build *b, const char *name, size_t len,
			size_t *saved)
{
	size_t need = b->relpath_len + len + 2;

	if (need > b->relpath_cap) {
		size_t cap = max_t(size_t, need, b->relpath_cap * 2);
		char *p = realloc(b->relpath, cap);

		if (!p)
			return -ENOMEM;
		b->relpath = p;
		b->relpath_cap = cap;
	}
	*saved = b->relpath_len;
	if (b->relpath_len)
		b->relpath[b->relpath_len++] = '/';
	memcpy(b->relpath + b->relpath_len, name, len);
	b->relpath_len += len;
	b->relpath[b->relpath_len] = '\0';
	return 0;
}

static void relpath_pop(struct erofs_build *b, size_t saved)
{
	b->relpath_len = saved;
	if (b->relpath)
		b->relpath[saved] = '\0';
}

bool erofs_path_excluded(const struct erofs_build *b, const char *relpath)
{
	const struct erofs_mkfs_opts *o = b->opts;
	unsigned int i;

	for (i = 0; i < o->nr_exclude_paths; i++)
		if (!strcmp(o->exclude_paths[i], relpath))
			return true;
	for (i = 0; i < o->nr_exclude_regexes; i++)
		if (!regexec(&o->exclude_regexes[i], relpath, 0, NULL, 0))
			return true;
	return false;
}

static bool path_excluded(const struct erofs_build *b)
{
	return erofs_path_excluded(b, b->relpath);
}

static bool is_output(const struct erofs_build *b, const struct stat *st)
{
	unsigned int i;

	for (i = 0; i < b->nr_out; i++)
		if (st->st_dev == b->out_dev[i] && st->st_ino == b->out_ino[i])
			return true;
	return false;
}

static const char *shown(const struct erofs_build *b)
{
	return b->relpath_len ? b->relpath : ".";
}

/* xattrs through /proc so that symlinks and deep paths work alike */
static int read_xattrs(struct erofs_build *b, struct erofs_inode *inode,
		       int dirfd, const char *name)
{
	char path[64 + NAME_MAX];
	char *names = NULL, *p;
	ssize_t len, vlen;
	void *val = NULL;
	size_t valcap = 0;
	int ret = 0;

	if (b->opts->xattr_tolerance < 0)
		return 0;
	/* the root is read through its descriptor, entries through /proc */
	if (name)
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	for (;;) {
		len = name ? llistxattr(path, NULL, 0) : flistxattr(dirfd, NULL, 0);
		if (len <= 0)
			break;
		free(names);
		names = malloc(len);
		if (!names) {
			ret = -ENOMEM;
			goto out;
		}
		len = name ? llistxattr(path, names, len) :
			     flistxattr(dirfd, names, len);
		if (len >= 0 || errno != ERANGE)
			break;
	}
	if (len < 0) {
		if (errno == ENOTSUP || errno == ENODATA)
			goto out;
		ret = -errno;
		erofs_err(b, "failed to list xattrs of '%s': %s", shown(b),
			  strerror(errno));
		goto out;
	}
	for (p = names; p < names + len; p += strlen(p) + 1) {
		for (;;) {
			vlen = name ? lgetxattr(path, p, NULL, 0) :
				      fgetxattr(dirfd, p, NULL, 0);
			if (vlen < 0)
				break;
			if ((size_t)vlen + 1 > valcap) {
				void *nv = realloc(val, vlen + 1);

				if (!nv) {
					ret = -ENOMEM;
					goto out;
				}
				val = nv;
				valcap = vlen + 1;
			}
			vlen = name ? lgetxattr(path, p, val, valcap) :
				      fgetxattr(dirfd, p, val, valcap);
			if (vlen >= 0 || errno != ERANGE)
				break;
		}
		if (vlen < 0) {
			if (errno == ENODATA)
				continue;	/* removed meanwhile */
			ret = -errno;
			erofs_err(b, "failed to read xattr %s of '%s': %s", p,
				  shown(b), strerror(errno));
			goto out;
		}
		ret = erofs_xattr_add(b, inode, p, val, vlen);
		if (ret == -EOPNOTSUPP) {
			erofs_warn(b, "leaving out xattr %s of '%s': EROFS has no namespace for it",
				   p, shown(b));
			ret = 0;
		} else if (ret) {
			if (ret == -E2BIG || ret == -ENAMETOOLONG)
				erofs_err(b, "cannot store xattr %s of '%s': too large for EROFS",
					  p, shown(b));
			goto out;
		}
	}
out:
	free(names);
	free(val);
	return ret;
}

/* data ranges of a sparse file, found with SEEK_DATA / SEEK_HOLE */
static int scan_sparse(struct erofs_build *b, struct erofs_inode *inode,
		       int dirfd, const char *name)
{
	uint64_t pos = 0, covered = 0;
	uint32_t cap = 0;
	int fd, ret = 0;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		erofs_err(b, "failed to open '%s': %s", shown(b), strerror(errno));
		return ret;
	}
	while (pos < inode->size) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0) {
			if (errno == ENXIO)
				break;
			if (errno == EINVAL || errno == EOPNOTSUPP) {
				/* no hole support: treat as fully allocated */
				free(inode->extents);
				inode->extents = NULL;
				inode->nr_extents = 0;
				goto out;
			}
			ret = -errno;
			erofs_err(b, "failed to map '%s': %s", shown(b),
				  strerror(errno));
			goto out;
		}
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0) {
			ret = -errno;
			erofs_err(b, "failed to map '%s': %s", shown(b),
				  strerror(errno));
			goto out;
		}
		if ((uint64_t)h > inode->size)
			h = inode->size;
		if (h <= d)
			break;
		if (inode->nr_extents == cap) {
			struct erofs_extent *e;

			cap = cap ? cap * 2 : 8;
			e = realloc(inode->extents, cap * sizeof(*e));
			if (!e) {
				ret = -ENOMEM;
				goto out;
			}
			inode->extents = e;
		}
		inode->extents[inode->nr_extents++] =
			(struct erofs_extent){ .off = d, .len = h - d };
		covered += h - d;
		pos = h;
	}
	/* worth a chunked layout only if at least one block is a hole */
	if (covered + b->bs > inode->size) {
		free(inode->extents);
		inode->extents = NULL;
		inode->nr_extents = 0;
	} else if (!inode->nr_extents) {
		/* fully sparse: keep a marker with no data */
		inode->extents = malloc(sizeof(*inode->extents));
		if (!inode->extents) {
			ret = -ENOMEM;
			goto out;
		}
	}
out:
	close(fd);
	return ret;
}

static void fill_from_stat(struct erofs_build *b, struct erofs_inode *inode,
			   const struct stat *st)
{
	const struct erofs_mkfs_opts *o = b->opts;

	inode->mode = st->st_mode;
	inode->uid = o->force_uid >= 0 ? (uint32_t)o->force_uid : st->st_uid;
	inode->gid = o->force_gid >= 0 ? (uint32_t)o->force_gid : st->st_gid;
	inode->mtime = st->st_mtim.tv_sec;
	inode->mtime_nsec = st->st_mtim.tv_nsec;
	if (o->fixed_time) {
		inode->mtime = o->timestamp;
		inode->mtime_nsec = 0;
	} else if (o->clamp_time && inode->mtime >= o->timestamp) {
		inode->mtime = o->timestamp;
		inode->mtime_nsec = 0;
	}
	inode->src_dev = st->st_dev;
	inode->src_ino = st->st_ino;
	inode->src_ctime = st->st_ctim;
	if (S_ISREG(st->st_mode))
		inode->size = st->st_size;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		inode->rdev_major = major(st->st_rdev);
		inode->rdev_minor = minor(st->st_rdev);
	}
}

static int scan_dir(struct erofs_build *b, struct erofs_inode *dir, int dirfd);

static int scan_entry(struct erofs_build *b, struct erofs_inode *dir,
		      int dirfd, const char *name)
{
	size_t len = strlen(name);
	struct erofs_inode *inode;
	struct erofs_dentry *d;
	struct stat st;
	int ret;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		ret = -errno;
		if (errno == ENOENT) {
			erofs_err(b, "failed to read '%s': it vanished during the build",
				  shown(b));
			return ret;
		}
		erofs_err(b, "failed to stat '%s': %s", shown(b), strerror(errno));
		return ret;
	}
	if (is_output(b, &st))
		return 0;
	if (path_excluded(b))
		return 0;
	if (len > EROFS_NAME_LEN) {
		erofs_err(b, "cannot store '%s': name longer than %d bytes",
			  shown(b), EROFS_NAME_LEN);
		return -ENAMETOOLONG;
	}

	d = erofs_new_dentry(dir, name, len);
	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = erofs_add_child(dir, d);
	if (ret) {
		free(d);
		return ret;
	}

	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		erofs_hardlink_lookup(b, st.st_dev, st.st_ino, &inode);
		if (inode) {
			d->inode = inode;
			inode->nlink++;
			if (b->report)
				b->report->hardlinks++;
			return 0;
		}
	}

	inode = erofs_new_inode(b);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	d->inode = inode;
	inode->dentry = d;
	inode->nlink = 1;
	fill_from_stat(b, inode, &st);

	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		erofs_err(b, "cannot store '%s': unsupported file type 0%o",
			  shown(b), st.st_mode & S_IFMT);
		return -EOPNOTSUPP;
	}

	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		ret = erofs_hardlink_insert(b, inode);
		if (ret)
			return ret;
	}

	if (S_ISLNK(st.st_mode)) {
		ssize_t n;

		if (st.st_size > PATH_MAX) {
			erofs_err(b, "cannot store '%s': symlink target too long",
				  shown(b));
			return -ENAMETOOLONG;
		}
		inode->symlink = malloc(st.st_size + 2);
		if (!inode->symlink)
			return -ENOMEM;
		n = readlinkat(dirfd, name, inode->symlink, st.st_size + 1);
		if (n < 0) {
			ret = -errno;
			erofs_err(b, "failed to read link '%s': %s", shown(b),
				  strerror(errno));
			return ret;
		}
		if (n != st.st_size) {
			erofs_err(b, "failed to read link '%s': it changed during the build",
				  shown(b));
			return -EAGAIN;
		}
		inode->symlink[n] = '\0';
		inode->size = n;
	}

	ret = read_xattrs(b, inode, dirfd, name);
	if (ret)
		return ret;

	if (S_ISREG(st.st_mode) && inode->size >= b->bs &&
	    (uint64_t)st.st_blocks * 512 + b->bs <= inode->size) {
		ret = scan_sparse(b, inode, dirfd, name);
		if (ret)
			return ret;
	}

	if (b->prehash && S_ISREG(st.st_mode) && inode->size &&
	    !inode->extents)
		erofs_prehash_push(b->prehash, inode);

	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY |
				O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0) {
			ret = -errno;
			erofs_err(b, "failed to open directory '%s': %s",
				  shown(b), strerror(errno));
			return ret;
		}
		ret = scan_dir(b, inode, fd);
		close(fd);
		if (ret)
			return ret;
		dir->nlink++;
	}
	return 0;
}

static int scan_dir(struct erofs_build *b, struct erofs_inode *dir, int dirfd)
{
	struct dirent *de;
	DIR *dp;
	int fd, ret = 0;

	dir->nlink = 2;
	fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		ret = -errno;
		close(fd);
		return ret;
	}
	for (;;) {
		size_t saved;

		errno = 0;
		de = readdir(dp);
		if (!de) {
			if (errno) {
				ret = -errno;
				erofs_err(b, "failed to read directory '%s': %s",
					  shown(b), strerror(errno));
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		ret = relpath_push(b, de->d_name, strlen(de->d_name), &saved);
		if (ret)
			break;
		ret = scan_entry(b, dir, dirfd, de->d_name);
		relpath_pop(b, saved);
		if (ret)
			break;
	}
	closedir(dp);
	if (!ret)
		erofs_sort_children(dir);
	return ret;
}

int erofs_source_dir_scan(struct erofs_build *b)
{
	struct erofs_inode *root;
	struct stat st;
	int ret;

	if (fstat(b->rootfd, &st))
		return -errno;
	root = erofs_new_inode(b);
	if (IS_ERR(root))
		return PTR_ERR(root);
	root->dentry = erofs_new_dentry(NULL, "", 0);
	if (IS_ERR(root->dentry)) {
		ret = PTR_ERR(root->dentry);
		root->dentry = NULL;
		return ret;
	}
	root->dentry->inode = root;
	b->root = root;
	fill_from_stat(b, root, &st);
	b->relpath_len = 0;
	ret = read_xattrs(b, root, b->rootfd, NULL);
	if (ret)
		return ret;
	ret = erofs_prehash_start(b, &b->prehash);
	if (ret)
		return ret;
	ret = scan_dir(b, root, b->rootfd);
	erofs_prehash_stop(b->prehash);
	b->prehash = NULL;
	return ret;
}

int erofs_open_source(struct erofs_build *b, const struct erofs_inode *inode,
		      int flags)
{
	const struct erofs_dentry *chain[64], *d;
	char *path = erofs_inode_path(inode);
	unsigned int depth = 0;
	int fd, dfd, err;

	if (b->spool_fd >= 0) {
		/* a tar source: the data is in the spool or the archive */
		free(path);
		fd = dup(inode->in_archive ? b->archive_fd : b->spool_fd);
		return fd < 0 ? -errno : fd;
	}
	if (!path)
		return -ENOMEM;
	if (strlen(path) < PATH_MAX - 1) {
		fd = openat(b->rootfd, path, flags | O_NOFOLLOW | O_CLOEXEC);
		err = errno;
		free(path);
		return fd < 0 ? -err : fd;
	}
	free(path);

	/* too long for one call: descend a bounded number of levels at once */
	for (d = inode->dentry; d && d->parent; d = d->parent->dentry)
		depth++;
	dfd = b->rootfd;
	while (depth) {
		unsigned int n = 0, take = depth > 64 ? 64 : depth, skip, i;

		/* the deepest 'depth' entries remain; take the top 'take' */
		skip = depth - take;
		for (d = inode->dentry, i = 0; i < skip; i++)
			d = d->parent->dentry;
		for (i = 0; i < take; i++) {
			chain[take - 1 - i] = d;
			d = d->parent->dentry;
		}
		for (i = 0; i < take; i++) {
			bool last = depth - i == 1;
			int nfd = openat(dfd, chain[i]->name, last ? flags |
					 O_NOFOLLOW | O_CLOEXEC : O_PATH |
					 O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			err = errno;
			if (dfd != b->rootfd)
				close(dfd);
			if (nfd < 0)
				return -err;
			dfd = nfd;
			n++;
		}
		depth -= n;
	}
	return dfd;
}
