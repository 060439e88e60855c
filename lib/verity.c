// SPDX-License-Identifier: GPL-2.0+ OR Apache-2.0
/*
 * dm-verity hash trees (format 1, sha256): geometry, hashing from buffers
 * and files on any number of threads, the upper levels, the veritysetup
 * superblock, and the check of a stored tree against data and a root hash.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/types.h>
#include <openssl/evp.h>

#include "erofs/defs.h"
#include "erofs/verity.h"

#define SALT_TEXT	"erofs-forge verity salt"
#define SB_SIGNATURE	"verity\0\0"
#define FD_BUFSIZE	(1u << 20)

/* the superblock veritysetup writes and reads, all fields little-endian */
struct verity_sb {
	uint8_t signature[8];
	__le32 version;
	__le32 hash_type;
	uint8_t uuid[16];
	char algorithm[32];
	__le32 data_block_size;
	__le32 hash_block_size;
	__le64 data_blocks;
	__le16 salt_size;
	uint8_t pad1[6];
	uint8_t salt[EROFS_VERITY_MAX_SALT];
	uint8_t pad2[168];
} __attribute__((packed));

_Static_assert(sizeof(struct verity_sb) == EROFS_VERITY_SB_SIZE,
	       "veritysetup superblock is 512 bytes");

int erofs_verity_derive_salt(const uint8_t uuid[16],
			     uint8_t salt[EROFS_VERITY_DIGEST_SIZE])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ret = -ENOMEM;

	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(c, SALT_TEXT, strlen(SALT_TEXT)) &&
	    EVP_DigestUpdate(c, uuid, 16) &&
	    EVP_DigestFinal_ex(c, salt, NULL))
		ret = 0;
	EVP_MD_CTX_free(c);
	return ret;
}

static bool blksz_ok(uint32_t bs)
{
	return bs >= EROFS_VERITY_MIN_BLKSZ && bs <= EROFS_VERITY_MAX_BLKSZ &&
	       !(bs & (bs - 1));
}

/*
 * Levels as the kernel counts them: enough that the top one is a single
 * hash block; none when there is a single data block.  Level i has
 * ceil(data_blocks / per^(i+1)) blocks, and the top level comes first.
 */
int erofs_verity_init(struct erofs_verity *v,
		      const struct erofs_verity_params *p)
{
	unsigned int bits, i;
	uint64_t off = 0;

	memset(v, 0, sizeof(*v));
	if (!blksz_ok(p->data_bs) || !blksz_ok(p->hash_bs) || !p->data_blocks ||
	    p->salt_size > EROFS_VERITY_MAX_SALT)
		return -EINVAL;
	v->p = *p;
	bits = __builtin_ctz(p->hash_bs / EROFS_VERITY_DIGEST_SIZE);
	while (bits * v->levels < 64 &&
	       ((p->data_blocks - 1) >> (bits * v->levels)))
		v->levels++;
	if (v->levels > EROFS_VERITY_MAX_LEVELS)
		return -EINVAL;
	for (i = v->levels; i-- > 0;) {
		unsigned int shift = bits * (i + 1);
		uint64_t n = shift >= 64 ? 1 :
			(p->data_blocks + (1ull << shift) - 1) >> shift;

		v->level_blocks[i] = n;
		v->level_off[i] = off;
		off += n * p->hash_bs;
	}
	v->tree_size = off;
	/* fetched once: an implicit fetch at every block's init costs 9% */
	v->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	v->tree = off ? calloc(1, off) : NULL;
	v->have = calloc(1, p->data_blocks);
	if ((off && !v->tree) || !v->have || !v->md) {
		erofs_verity_release(v);
		return -ENOMEM;
	}
	return 0;
}

void erofs_verity_release(struct erofs_verity *v)
{
	free(v->tree);
	free(v->have);
	EVP_MD_free(v->md);
	v->tree = NULL;
	v->have = NULL;
	v->md = NULL;
}

void erofs_verity_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static int digest(const struct erofs_verity *v, EVP_MD_CTX *c,
		  const void *data, size_t len, uint8_t *out)
{
	if (!EVP_DigestInit_ex(c, v->md, NULL) ||
	    !EVP_DigestUpdate(c, v->p.salt, v->p.salt_size) ||
	    !EVP_DigestUpdate(c, data, len) ||
	    !EVP_DigestFinal_ex(c, out, NULL))
		return -EINVAL;
	return 0;
}

/* where data block k's digest goes: level 0, or the top when there is none */
static uint8_t *slot0(struct erofs_verity *v, uint64_t k)
{
	if (!v->levels)
		return v->top;
	return v->tree + v->level_off[0] + k * EROFS_VERITY_DIGEST_SIZE;
}

int erofs_verity_hash_blocks(struct erofs_verity *v, void **ctx,
			     uint64_t first, const void *buf, uint64_t n)
{
	const uint8_t *p = buf;
	uint64_t k;
	int ret;

	if (first > v->p.data_blocks || n > v->p.data_blocks - first)
		return -EINVAL;
	if (!*ctx) {
		*ctx = EVP_MD_CTX_new();
		if (!*ctx)
			return -ENOMEM;
	}
	for (k = first; k < first + n; k++) {
		ret = digest(v, *ctx, p, v->p.data_bs, slot0(v, k));
		if (ret)
			return ret;
		v->have[k] = 1;
		p += v->p.data_bs;
	}
	return 0;
}

int erofs_verity_hash_fd_range(struct erofs_verity *v, void **ctx, int fd,
			       uint64_t base, uint64_t first, uint64_t n,
			       uint8_t *buf, size_t bufsz)
{
	uint64_t per = bufsz / v->p.data_bs;
	int ret;

	if (!per)
		return -EINVAL;
	while (n) {
		uint64_t cnt = min_t(uint64_t, n, per);

		ret = erofs_pread_full(fd, buf, cnt * v->p.data_bs,
				       base + first * v->p.data_bs);
		if (ret)
			return ret;
		ret = erofs_verity_hash_blocks(v, ctx, first, buf, cnt);
		if (ret)
			return ret;
		first += cnt;
		n -= cnt;
	}
	return 0;
}

struct fd_job {
	struct erofs_verity *v;
	int fd;
	uint64_t base;
	atomic_uint_fast64_t next;	/* next group of blocks to take */
	atomic_int failed;
};

struct fd_worker {
	struct fd_job *job;
	pthread_t th;
	int ret;
};

static void *fd_worker_main(void *arg)
{
	struct fd_worker *w = arg;
	struct fd_job *j = w->job;
	struct erofs_verity *v = j->v;
	uint64_t group = FD_BUFSIZE / v->p.data_bs;
	uint8_t *buf = malloc(FD_BUFSIZE);
	void *ctx = NULL;

	if (!buf) {
		w->ret = -ENOMEM;
		atomic_store(&j->failed, 1);
		return NULL;
	}
	while (!w->ret && !atomic_load(&j->failed)) {
		uint64_t start = atomic_fetch_add(&j->next, 1) * group, k, end;

		if (start >= v->p.data_blocks)
			break;
		end = min_t(uint64_t, start + group, v->p.data_blocks);
		/* runs of blocks not hashed yet */
		for (k = start; k < end && !w->ret;) {
			uint64_t e;

			if (v->have[k]) {
				k++;
				continue;
			}
			for (e = k; e < end && !v->have[e]; e++)
				;
			w->ret = erofs_verity_hash_fd_range(v, &ctx, j->fd, j->base,
							    k, e - k, buf,
							    FD_BUFSIZE);
			k = e;
		}
		if (w->ret)
			atomic_store(&j->failed, 1);
	}
	erofs_verity_ctx_free(ctx);
	free(buf);
	return NULL;
}

int erofs_verity_hash_fd(struct erofs_verity *v, int fd, uint64_t base,
			 unsigned int threads)
{
	struct fd_job job = { .v = v, .fd = fd, .base = base };
	struct fd_worker *ws;
	unsigned int i, started = 0;
	int ret = 0;

	if (!threads)
		threads = 1;
	ws = calloc(threads, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	for (i = 0; i < threads; i++) {
		ws[i].job = &job;
		if (i && pthread_create(&ws[i].th, NULL, fd_worker_main, &ws[i]))
			break;
		started++;
	}
	/* the calling thread is worker 0 */
	fd_worker_main(&ws[0]);
	for (i = 0; i < started; i++) {
		if (i)
			pthread_join(ws[i].th, NULL);
		if (ws[i].ret && !ret)
			ret = ws[i].ret;
	}
	free(ws);
	return ret;
}

int erofs_verity_build(struct erofs_verity *v)
{
	uint32_t hbs = v->p.hash_bs;
	EVP_MD_CTX *c;
	unsigned int l;
	uint64_t k;
	int ret = 0;

	for (k = 0; k < v->p.data_blocks; k++)
		if (!v->have[k])
			return -EINVAL;
	if (!v->levels) {
		memcpy(v->root, v->top, sizeof(v->root));
		return 0;
	}
	c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	for (l = 1; l < v->levels && !ret; l++)
		for (k = 0; k < v->level_blocks[l - 1] && !ret; k++)
			ret = digest(v, c, v->tree + v->level_off[l - 1] + k * hbs,
				     hbs, v->tree + v->level_off[l] +
				     k * EROFS_VERITY_DIGEST_SIZE);
	if (!ret)
		ret = digest(v, c, v->tree + v->level_off[v->levels - 1], hbs,
			     v->root);
	EVP_MD_CTX_free(c);
	return ret;
}

void erofs_verity_sb_write(const struct erofs_verity *v,
			   uint8_t out[EROFS_VERITY_SB_SIZE])
{
	struct verity_sb sb = {
		.version = cpu_to_le32(1),
		.hash_type = cpu_to_le32(EROFS_VERITY_HASH_TYPE),
		.data_block_size = cpu_to_le32(v->p.data_bs),
		.hash_block_size = cpu_to_le32(v->p.hash_bs),
		.data_blocks = cpu_to_le64(v->p.data_blocks),
		.salt_size = cpu_to_le16(v->p.salt_size),
	};

	memcpy(sb.signature, SB_SIGNATURE, sizeof(sb.signature));
	memcpy(sb.uuid, v->p.uuid, sizeof(sb.uuid));
	memcpy(sb.algorithm, EROFS_VERITY_ALGORITHM,
	       strlen(EROFS_VERITY_ALGORITHM));
	memcpy(sb.salt, v->p.salt, v->p.salt_size);
	memcpy(out, &sb, sizeof(sb));
}

int erofs_verity_sb_read(const uint8_t in[EROFS_VERITY_SB_SIZE],
			 struct erofs_verity_params *p, const char **why)
{
	struct verity_sb sb;
	const char *w = NULL;
	int ret = 0;

	memcpy(&sb, in, sizeof(sb));
	memset(p, 0, sizeof(*p));
	if (memcmp(sb.signature, SB_SIGNATURE, sizeof(sb.signature))) {
		w = "no verity superblock";
		ret = -ENOENT;
	} else if (le32_to_cpu(sb.version) != 1) {
		w = "superblock version is not 1";
		ret = -EOPNOTSUPP;
	} else if (le32_to_cpu(sb.hash_type) != EROFS_VERITY_HASH_TYPE) {
		w = "hash type is not 1";
		ret = -EOPNOTSUPP;
	} else if (strncmp(sb.algorithm, EROFS_VERITY_ALGORITHM,
			   sizeof(sb.algorithm))) {
		w = "hash algorithm is not sha256";
		ret = -EOPNOTSUPP;
	} else if (!blksz_ok(le32_to_cpu(sb.data_block_size)) ||
		   !blksz_ok(le32_to_cpu(sb.hash_block_size))) {
		w = "block size out of range";
		ret = -EFSCORRUPTED;
	} else if (!le64_to_cpu(sb.data_blocks)) {
		w = "no data blocks";
		ret = -EFSCORRUPTED;
	} else if (le16_to_cpu(sb.salt_size) > EROFS_VERITY_MAX_SALT) {
		w = "salt longer than 256 bytes";
		ret = -EFSCORRUPTED;
	}
	if (why)
		*why = w;
	if (ret)
		return ret;
	p->data_bs = le32_to_cpu(sb.data_block_size);
	p->hash_bs = le32_to_cpu(sb.hash_block_size);
	p->data_blocks = le64_to_cpu(sb.data_blocks);
	p->salt_size = le16_to_cpu(sb.salt_size);
	memcpy(p->uuid, sb.uuid, sizeof(p->uuid));
	memcpy(p->salt, sb.salt, p->salt_size);
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int erofs_verity_write(const struct erofs_verity *v, int fd, uint64_t off)
{
	uint8_t *blk = calloc(1, v->p.hash_bs);
	int ret;

	if (!blk)
		return -ENOMEM;
	erofs_verity_sb_write(v, blk);
	ret = pwrite_all(fd, blk, v->p.hash_bs, off);
	free(blk);
	if (!ret && v->tree_size)
		ret = pwrite_all(fd, v->tree, v->tree_size, off + v->p.hash_bs);
	return ret;
}

static bool zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int erofs_verity_check(const struct erofs_verity *v, const uint8_t *tree,
		       const uint8_t root[EROFS_VERITY_DIGEST_SIZE],
		       struct erofs_verity_fault *f)
{
	const unsigned int ds = EROFS_VERITY_DIGEST_SIZE;
	uint32_t hbs = v->p.hash_bs;
	uint8_t md[EROFS_VERITY_DIGEST_SIZE];
	EVP_MD_CTX *c;
	unsigned int l;
	uint64_t k, below;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	if (!v->levels) {
		/* a single data block hashes straight to the root */
		if (memcmp(v->top, root, ds)) {
			f->kind = EROFS_VERITY_BAD_DATA;
			f->bad_data_blocks = 1;
			return -EBADMSG;
		}
		return 0;
	}
	c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	ret = digest(v, c, tree + v->level_off[v->levels - 1], hbs, md);
	if (ret)
		goto out;
	if (memcmp(md, root, ds)) {
		f->kind = EROFS_VERITY_BAD_ROOT;
		f->level = v->levels - 1;
		f->offset = v->level_off[v->levels - 1];
		ret = -EBADMSG;
		goto out;
	}
	for (l = v->levels; l-- > 0;) {
		const uint8_t *lvl = tree + v->level_off[l];

		/* slots past the last entry of a level are zero */
		below = l ? v->level_blocks[l - 1] : v->p.data_blocks;
		if (!zero(lvl + below * ds, v->level_blocks[l] * hbs - below * ds)) {
			f->kind = EROFS_VERITY_BAD_PADDING;
			f->level = l;
			f->block = v->level_blocks[l] - 1;
			f->offset = v->level_off[l] + f->block * hbs;
			ret = -EBADMSG;
			goto out;
		}
		if (!l)
			break;
		for (k = 0; k < below; k++) {
			const uint8_t *blk = tree + v->level_off[l - 1] + k * hbs;

			ret = digest(v, c, blk, hbs, md);
			if (ret)
				goto out;
			if (memcmp(md, lvl + k * ds, ds)) {
				f->kind = EROFS_VERITY_BAD_HASH;
				f->level = l - 1;
				f->block = k;
				f->offset = v->level_off[l - 1] + k * hbs;
				ret = -EBADMSG;
				goto out;
			}
		}
	}
	/* the tree holds together: now each data block against level 0 */
	for (k = 0; k < v->p.data_blocks; k++) {
		if (!memcmp(tree + v->level_off[0] + k * ds,
			    v->tree + v->level_off[0] + k * ds, ds))
			continue;
		if (!f->bad_data_blocks++) {
			f->kind = EROFS_VERITY_BAD_DATA;
			f->block = k;
			f->offset = k * v->p.data_bs;
		}
	}
	if (f->bad_data_blocks)
		ret = -EBADMSG;
out:
	EVP_MD_CTX_free(c);
	return ret;
}

int erofs_verity_find_sb(int fd, uint64_t data_end, uint64_t *off)
{
	uint8_t sb[EROFS_VERITY_SB_SIZE];
	struct erofs_verity_params p;
	uint32_t bs;
	int ret;

	for (bs = EROFS_VERITY_MIN_BLKSZ; bs <= EROFS_VERITY_MAX_BLKSZ; bs <<= 1) {
		uint64_t at = round_up(data_end, (uint64_t)bs);

		ret = erofs_pread_full(fd, sb, sizeof(sb), at);
		if (ret == -ENODATA)
			continue;
		if (ret)
			return ret;
		if (erofs_verity_sb_read(sb, &p, NULL) == -ENOENT)
			continue;
		*off = at;
		return 0;
	}
	return -ENOENT;
}

int erofs_verity_verify(int data_fd, int hash_fd, uint64_t hash_off,
			const uint8_t root[EROFS_VERITY_DIGEST_SIZE],
			unsigned int threads, struct erofs_verity_params *p,
			struct erofs_verity_fault *f, const char **why)
{
	uint8_t sb[EROFS_VERITY_SB_SIZE], *tree = NULL;
	struct erofs_verity v;
	int ret;

	*why = NULL;
	memset(f, 0, sizeof(*f));
	ret = erofs_pread_full(hash_fd, sb, sizeof(sb), hash_off);
	if (ret == -ENODATA) {
		*why = "no verity superblock: the file ends before it";
		return -ENOENT;
	}
	if (ret)
		return ret;
	ret = erofs_verity_sb_read(sb, p, why);
	if (ret)
		return ret;
	ret = erofs_verity_init(&v, p);
	if (ret == -EINVAL) {
		*why = "superblock parameters out of range";
		return -EFSCORRUPTED;
	}
	if (ret)
		return ret;
	if (data_fd == hash_fd &&
	    hash_off < p->data_blocks * (uint64_t)p->data_bs) {
		*why = "the data blocks overlap the hash area";
		ret = -EFSCORRUPTED;
		goto out;
	}
	if (v.tree_size) {
		tree = malloc(v.tree_size);
		if (!tree) {
			ret = -ENOMEM;
			goto out;
		}
		ret = erofs_pread_full(hash_fd, tree, v.tree_size, hash_off + p->hash_bs);
		if (ret == -ENODATA) {
			*why = "the hash tree is cut short";
			ret = -EFSCORRUPTED;
		}
		if (ret)
			goto out;
	}
	ret = erofs_verity_hash_fd(&v, data_fd, 0, threads);
	if (ret == -ENODATA)
		*why = "the data is shorter than the verity superblock says";
	if (!ret)
		ret = erofs_verity_check(&v, tree, root, f);
out:
	free(tree);
	erofs_verity_release(&v);
	return ret;
}
