/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * The tar source's state while it reads an archive, shared by
 * source_tar.c (paths, the tree, whiteouts) and tar_entry.c (an entry's
 * attributes, xattrs, ACLs and data).
 */
#ifndef EROFS_LIB_TAR_SOURCE_H
#define EROFS_LIB_TAR_SOURCE_H

#include "internal.h"

struct archive_entry;

struct erofs_tar_src {
	struct erofs_build *b;
	struct erofs_tar_stream *st;
	struct archive *a;		/* its tar reader */
	int fd;
	const char *shown;		/* the archive, for messages */
	void *fp_ctx;
	bool index;
	bool in_place;			/* full mode, data read from the archive */
	bool sparse;			/* the current entry is sparse */
	uint64_t spool_end;

	/* every entry by (directory, name) */
	struct erofs_dentry **names;
	uint64_t names_size, names_count;

	/* directories that .wh..wh..opq made opaque */
	struct erofs_inode **opaque;
	size_t nr_opaque, cap_opaque;

	char *path;			/* the entry's path below the root */
	size_t path_len, path_cap;
	char *link;			/* a hard link's target, likewise */
	size_t link_cap;
	uint64_t nr_entries;		/* read so far */
	uint64_t entry_end;		/* where the last entry ends */
	uint64_t *phys;			/* data in place: where each run is */
	size_t phys_cap;
};

int erofs_tar_entry_err(struct erofs_tar_src *t, const char *path, int err,
			const char *why);
int erofs_tar_fail(struct erofs_tar_src *t, const char *path);
int erofs_tar_set_attrs(struct erofs_tar_src *t, struct erofs_inode *inode,
			struct archive_entry *e);
bool erofs_tar_has_xattr(const struct erofs_inode *inode, const char *name);
int erofs_tar_read_xattrs(struct erofs_tar_src *t, struct erofs_inode *inode,
			  struct archive_entry *e);
int erofs_tar_read_data(struct erofs_tar_src *t, struct erofs_inode *inode);

#endif
