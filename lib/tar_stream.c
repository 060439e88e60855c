// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * The byte stream under the tar source, in two stages on two threads: a
 * feeder reads the input (a file or a pipe), hashes its raw bytes when
 * asked and undoes whatever compression libarchive finds, while the tar
 * reader on the caller's thread parses the result, hashes file data and
 * spools it.  Decompression is the slow part of a compressed archive, and
 * this way it overlaps with everything else.  A few buffers in a ring bound
 * the memory between the stages.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <archive.h>
#include <openssl/evp.h>

#include "internal.h"
#include "tar_stream.h"

#define NR_BUFS		4
#define BUFSIZE		(1u << 20)

struct erofs_tar_stream {
	int fd;
	uint8_t *rbuf;			/* the feeder's raw reads */
	EVP_MD_CTX *raw_ctx;		/* SHA-256 of the raw bytes, or NULL */
	struct archive *raw;		/* filters only: the plain stream */
	struct archive *tar;		/* the tar reader on top */
	pthread_t th;
	bool started;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t *bufs[NR_BUFS];
	size_t lens[NR_BUFS];
	unsigned int head, count;	/* filled buffers: head .. head+count */
	bool held;			/* the tar reader has the one at head */
	bool eof, stop;
	int read_err;			/* errno of a failed read */
	char *err;			/* the feeder's message, or NULL */
	char *filter;			/* the compression found, or NULL */
	bool ready;			/* 'filter' is known */
};

static la_ssize_t raw_read(struct archive *a, void *priv, const void **buf)
{
	struct erofs_tar_stream *s = priv;
	ssize_t n;

	do {
		n = read(s->fd, s->rbuf, BUFSIZE);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->read_err = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	if (s->raw_ctx && n && !EVP_DigestUpdate(s->raw_ctx, s->rbuf, n)) {
		archive_set_error(a, EINVAL, "digest failed");
		return -1;
	}
	*buf = s->rbuf;
	return n;
}

static void feeder_fail(struct erofs_tar_stream *s, const char *msg)
{
	pthread_mutex_lock(&s->lock);
	if (!s->err)
		s->err = strdup(msg ? msg : "corrupt archive");
	s->eof = true;
	s->ready = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *feeder(void *arg)
{
	struct erofs_tar_stream *s = arg;
	struct archive_entry *e;
	int r = archive_read_next_header(s->raw, &e);

	if (r < ARCHIVE_WARN && r != ARCHIVE_EOF) {
		feeder_fail(s, archive_error_string(s->raw));
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	if (archive_filter_count(s->raw) > 1)
		s->filter = strdup(archive_filter_name(s->raw, 0));
	s->ready = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);

	while (r != ARCHIVE_EOF) {
		unsigned int slot;
		la_ssize_t n;

		pthread_mutex_lock(&s->lock);
		while (s->count == NR_BUFS && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		slot = (s->head + s->count) % NR_BUFS;
		pthread_mutex_unlock(&s->lock);

		/* the slot is the feeder's until it is counted */
		n = archive_read_data(s->raw, s->bufs[slot], BUFSIZE);
		if (n < 0) {
			feeder_fail(s, archive_error_string(s->raw));
			return NULL;
		}
		pthread_mutex_lock(&s->lock);
		if (n) {
			s->lens[slot] = n;
			s->count++;
		} else {
			s->eof = true;
		}
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		if (!n)
			break;
	}
	/* what follows: hashed, and a writer into a pipe is not cut off */
	while (!s->stop) {
		const void *buf;
		la_ssize_t n = raw_read(s->raw, s, &buf);

		if (n <= 0)
			break;
	}
	pthread_mutex_lock(&s->lock);
	s->eof = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* the tar reader's input: the feeder's buffers, each kept until the next */
static la_ssize_t tar_read(struct archive *a, void *priv, const void **buf)
{
	struct erofs_tar_stream *s = priv;
	la_ssize_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (s->held) {
		s->held = false;
		s->head = (s->head + 1) % NR_BUFS;
		s->count--;
		pthread_cond_broadcast(&s->cond);
	}
	while (!s->count && !s->eof)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->count) {
		s->held = true;
		*buf = s->bufs[s->head];
		n = s->lens[s->head];
	} else if (s->err) {
		archive_set_error(a, s->read_err ? s->read_err : EINVAL, "%s",
				  s->err);
		n = -1;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

int erofs_tar_stream_open(int fd, bool hash_raw, struct erofs_tar_stream **out)
{
	struct erofs_tar_stream *s = calloc(1, sizeof(*s));
	unsigned int i;
	int ret = -ENOMEM;

	*out = s;
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->rbuf = malloc(BUFSIZE);
	for (i = 0; i < NR_BUFS; i++)
		if (!(s->bufs[i] = malloc(BUFSIZE)))
			return -ENOMEM;
	if (hash_raw) {
		s->raw_ctx = EVP_MD_CTX_new();
		if (!s->raw_ctx ||
		    !EVP_DigestInit_ex(s->raw_ctx, EVP_sha256(), NULL))
			return -ENOMEM;
	}
	s->raw = archive_read_new();
	s->tar = archive_read_new();
	if (!s->rbuf || !s->raw || !s->tar)
		return -ENOMEM;
	ret = -EINVAL;
	if (archive_read_support_filter_all(s->raw) < ARCHIVE_WARN ||
	    archive_read_support_format_raw(s->raw) != ARCHIVE_OK ||
	    archive_read_support_format_tar(s->tar) != ARCHIVE_OK)
		return ret;
	if (archive_read_open(s->raw, s, NULL, raw_read, NULL) != ARCHIVE_OK)
		return ret;
	if (pthread_create(&s->th, NULL, feeder, s))
		return -EAGAIN;
	s->started = true;
	if (archive_read_open(s->tar, s, NULL, tar_read, NULL) != ARCHIVE_OK)
		return ret;
	return 0;
}

struct archive *erofs_tar_stream_archive(struct erofs_tar_stream *s)
{
	return s->tar;
}

/* the raw stream's error: an open that failed, or the feeder's */
const char *erofs_tar_stream_error(struct erofs_tar_stream *s, int *err)
{
	const char *msg;

	if (!s || !s->raw) {
		*err = -ENOMEM;
		return strerror(ENOMEM);
	}
	pthread_mutex_lock(&s->lock);
	*err = s->read_err ? -s->read_err : -EFSCORRUPTED;
	msg = s->tar ? archive_error_string(s->tar) : NULL;
	if (!msg)
		msg = s->err;
	pthread_mutex_unlock(&s->lock);
	if (!msg)
		msg = archive_error_string(s->raw);
	return msg ? msg : "corrupt archive";
}

/* the compression found (NULL: none); waits until the feeder knows */
const char *erofs_tar_stream_filter(struct erofs_tar_stream *s)
{
	const char *f;

	pthread_mutex_lock(&s->lock);
	while (!s->ready)
		pthread_cond_wait(&s->cond, &s->lock);
	f = s->filter;
	pthread_mutex_unlock(&s->lock);
	return f;
}

/* after the end of the archive: the rest is read, the raw digest final */
int erofs_tar_stream_finish(struct erofs_tar_stream *s, uint8_t *digest)
{
	unsigned int dlen;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	/* release what the tar reader holds, and let the feeder run out */
	while (!s->eof || s->count) {
		if (s->count) {
			s->head = (s->head + 1) % NR_BUFS;
			s->count--;
			s->held = false;
			pthread_cond_broadcast(&s->cond);
		} else {
			pthread_cond_wait(&s->cond, &s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->th, NULL);
	s->started = false;
	if (s->read_err)
		return -s->read_err;
	if (digest && s->raw_ctx &&
	    !EVP_DigestFinal_ex(s->raw_ctx, digest, &dlen))
		ret = -EINVAL;
	return ret;
}

void erofs_tar_stream_close(struct erofs_tar_stream *s)
{
	unsigned int i;

	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->th, NULL);
	}
	if (s->tar)
		archive_read_free(s->tar);
	if (s->raw)
		archive_read_free(s->raw);
	for (i = 0; i < NR_BUFS; i++)
		free(s->bufs[i]);
	free(s->rbuf);
	free(s->err);
	free(s->filter);
	EVP_MD_CTX_free(s->raw_ctx);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
