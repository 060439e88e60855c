/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * The input of the tar source: a feeder thread reads and decompresses,
 * the caller's thread parses with the returned tar reader.  With hash_raw,
 * the SHA-256 of the raw input, every byte of it, for index mode's tag.
 */
#ifndef EROFS_LIB_TAR_STREAM_H
#define EROFS_LIB_TAR_STREAM_H

#include <stdbool.h>
#include <stdint.h>

struct archive;
struct erofs_tar_stream;

int erofs_tar_stream_open(int fd, bool hash_raw, struct erofs_tar_stream **s);
struct archive *erofs_tar_stream_archive(struct erofs_tar_stream *s);
const char *erofs_tar_stream_error(struct erofs_tar_stream *s, int *err);
const char *erofs_tar_stream_filter(struct erofs_tar_stream *s);
int erofs_tar_stream_finish(struct erofs_tar_stream *s, uint8_t *digest);
void erofs_tar_stream_close(struct erofs_tar_stream *s);

#endif
