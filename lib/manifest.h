/* SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0 */
/*
 * The JSON manifest: prepared into a temporary file once the image is
 * complete, renamed into place only after the image itself was.
 */
#ifndef EROFS_LIB_MANIFEST_H
#define EROFS_LIB_MANIFEST_H

#include "internal.h"

int erofs_manifest_prepare(struct erofs_build *b);
int erofs_manifest_commit(struct erofs_build *b);
void erofs_manifest_abort(struct erofs_build *b);

#endif
