// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * Blobs named by their content: a device slot whose tag is 64 lowercase hex
 * characters names the SHA-256 of the device's bytes.  Here the devices of
 * an image are found in a blob store by those ids, and checked against them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "rd.h"

#define BLOB_BUFSIZE	(1u << 20)

bool erofs_rd_tag_is_blob_id(const uint8_t *tag)
{
	unsigned int i;

	for (i = 0; i < 64; i++)
		if (!((tag[i] >= '0' && tag[i] <= '9') ||
		      (tag[i] >= 'a' && tag[i] <= 'f')))
			return false;
	return true;
}

int erofs_rd_blob_dir_devices(const char *image, const char *dir,
			      struct erofs_rd_opts *ro)
{
	struct erofs_rd_opts probe = *ro;
	struct erofs_rd *rd;
	unsigned int n, i;
	int err;

	probe.path = image;
	probe.ndevices = 0;
	err = erofs_rd_open(&rd, &probe);
	if (err)
		return err;
	n = erofs_rd_ndevices(rd);
	for (i = 0; i < n && !err; i++) {
		const struct erofs_rd_device *d = erofs_rd_device(rd, i + 1);

		if (!erofs_rd_tag_is_blob_id(d->tag)) {
			erofs_rd_msg(rd, EROFS_RD_ERR,
				     "device %u has no blob id to look up in '%s'",
				     i + 1, dir);
			err = -ENOENT;
		} else if (asprintf((char **)&ro->devices[i], "%s/%.64s", dir,
				    (const char *)d->tag) < 0) {
			ro->devices[i] = NULL;
			err = -ENOMEM;
		}
	}
	erofs_rd_close(rd);
	if (err) {
		while (i--)
			free((char *)ro->devices[i]);
		return err;
	}
	ro->ndevices = n;
	return 0;
}

/* each device with a blob id: its bytes hash to that id */
int erofs_rd_verify_blob_ids(struct erofs_rd *rd, unsigned int *bad)
{
	unsigned int n = erofs_rd_ndevices(rd), i, dlen;
	uint8_t digest[32], *buf;
	EVP_MD_CTX *ctx;
	int err = 0;

	*bad = 0;
	ctx = EVP_MD_CTX_new();
	buf = malloc(BLOB_BUFSIZE);
	if (!ctx || !buf) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 1; i <= n; i++) {
		const struct erofs_rd_device *d = erofs_rd_device(rd, i);
		uint64_t off = 0;
		char hex[65];
		unsigned int k;

		if (!d->present || !erofs_rd_tag_is_blob_id(d->tag))
			continue;
		if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
			err = -EINVAL;
			goto out;
		}
		while (off < d->size) {
			uint64_t len = min_t(uint64_t, d->size - off, BLOB_BUFSIZE);

			err = erofs_rd_dev_read(rd, i, buf, len, off, "blob");
			if (err)
				goto out;
			EVP_DigestUpdate(ctx, buf, len);
			off += len;
		}
		EVP_DigestFinal_ex(ctx, digest, &dlen);
		for (k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", digest[k]);
		if (memcmp(hex, d->tag, 64)) {
			erofs_rd_msg(rd, EROFS_RD_ERR,
				     "device %u '%s': its content does not match its id %.64s (its SHA-256 is %s)",
				     i, rd->opts.devices[i - 1], (const char *)d->tag,
				     hex);
			(*bad)++;
		}
	}
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return err;
}
