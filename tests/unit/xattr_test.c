// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The xattr name filter hash against known values, and how full names split
 * into a short prefix index and a suffix.
 */
#include <string.h>

#include "erofs/erofs_fs.h"
#include "erofs/xattr.h"
#include "unit.h"

static unsigned int bit(uint8_t idx, const char *s)
{
	return erofs_xattr_filter_bit(idx, s, strlen(s));
}

int main(void)
{
	uint8_t idx = 0;

	CHECK_EQ_U(bit(6, "selinux"), 11);
	CHECK_EQ_U(bit(6, "capability"), 29);
	CHECK_EQ_U(bit(6, "ima"), 0);
	CHECK_EQ_U(bit(4, "overlay.opaque"), 20);
	CHECK_EQ_U(bit(4, "overlay.redirect"), 17);
	CHECK_EQ_U(bit(2, ""), 30);
	CHECK_EQ_U(bit(3, ""), 21);
	CHECK_EQ_U(bit(1, "mime_type"), 23);
	/* fingerprint names: hidden default and trusted. */
	CHECK_EQ_U(bit(0, "erofs.fingerprint.v1"), 8);
	CHECK_EQ_U(bit(4, "erofs.fingerprint"), 30);

	CHECK_EQ_U(erofs_xattr_split("user.foo", 8, &idx), 5);
	CHECK_EQ_U(idx, EROFS_XATTR_INDEX_USER);
	CHECK_EQ_U(erofs_xattr_split("security.selinux", 16, &idx), 9);
	CHECK_EQ_U(idx, EROFS_XATTR_INDEX_SECURITY);
	CHECK_EQ_U(erofs_xattr_split("trusted.overlay.opaque", 22, &idx), 8);
	CHECK_EQ_U(idx, EROFS_XATTR_INDEX_TRUSTED);
	CHECK_EQ_U(erofs_xattr_split("system.posix_acl_access", 23, &idx), 23);
	CHECK_EQ_U(idx, EROFS_XATTR_INDEX_POSIX_ACL_ACCESS);
	CHECK_EQ_U(erofs_xattr_split("system.posix_acl_default", 24, &idx), 24);
	CHECK_EQ_U(idx, EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT);
	/* names that EROFS cannot carry */
	CHECK_EQ_U(erofs_xattr_split("system.nfs4_acl", 15, &idx), 0);
	CHECK_EQ_U(erofs_xattr_split("user.", 5, &idx), 0);
	CHECK_EQ_U(erofs_xattr_split("system.posix_acl_accessX", 24, &idx), 0);
	return unit_done("xattr");
}
