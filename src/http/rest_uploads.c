/*
 * POST /api/upload/chat-files: one file in the multipart field "file"
 * (peer contract §4.4 with SPEC §2.16).
 *
 * Everything runs on the request's task thread, in this order, so that a
 * refused upload costs as little as possible and never leaves a file
 * behind: rate limit, locate the part (no copy), extension allow-list,
 * size, libmagic on the first bytes, then the write. The file is copied
 * into a hidden temp file in its final directory, synced, checked (images:
 * header size, thumbnail) and only then renamed to its random public
 * name, so a crash or a refusal never leaves a partial file under a name
 * that is served. The thumbnail is in place before the original appears.
 */

#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/config.h"
#include "core/core.h"
#include "core/metrics.h"
#include "domain/limits.h"
#include "http/api.h"
#include "lib/filetype.h"
#include "lib/json.h"
#include "lib/thumb.h"

#define UPLOAD_FIELD		"file"
#define UPLOAD_COPY_CHUNK	(64 * 1024)

/* upload_store() results besides 0. */
#define UPLOAD_BAD_IMAGE	-1
#define UPLOAD_TOO_MANY_PIXELS	-2
#define UPLOAD_ERROR		-3

struct upload {
	const struct filetype	*ft;
	char			ext[FILETYPE_EXT_MAX];
	char			original[256];
	char			uuid[40];
	char			name[64];	/* <uuid>.<ext> */
	char			thumb[64];	/* <uuid>.webp or "" */
	char			dir[PATH_MAX];
	char			tmp[PATH_MAX];
	int			width;
	int			height;
};

static void	upload_chat_file(struct api_ctx *);
static int	upload_ratelimit(struct api_ctx *);
static int	upload_check(struct api_ctx *, struct upload *);
static int	upload_store(struct api_ctx *, struct upload *);
static int	upload_copy(struct api_ctx *, int);
static int	upload_image(struct upload *);
static int	upload_write_thumb(struct upload *, const void *, size_t);
static int	upload_publish(const char *, const char *, const char *);
static void	upload_uuid(char *, size_t);
static int	upload_join(char *, size_t, const char *, const char *);
static int	upload_mkdir(const char *);
static void	upload_sync_dir(const char *);
static void	upload_reply(struct api_ctx *, struct upload *);
static void	upload_count(const struct upload *, const char *);

const struct api_route upload_routes[] = {
	{ API_POST, "/api/upload/chat-files", API_AUTH | API_MULTIPART,
	    upload_chat_file },
	{ 0, NULL, 0, NULL }
};

static int	thumbs_ready;

/* Worker start (app.c): libvips once per process, before any task. */
void
upload_worker_init(void)
{
	if (thumb_init("lnkchat") == -1) {
		core_log("uploads: libvips failed to start; image uploads "
		    "will be refused");
		return;
	}
	thumbs_ready = 1;
}

static void
upload_chat_file(struct api_ctx *ctx)
{
	struct upload	u;
	int		r;

	memset(&u, 0, sizeof(u));

	if (upload_ratelimit(ctx) == -1)
		return;
	if (upload_check(ctx, &u) == -1)
		return;

	r = upload_store(ctx, &u);
	switch (r) {
	case 0:
		upload_count(&u, "success");
		upload_reply(ctx, &u);
		break;
	case UPLOAD_TOO_MANY_PIXELS:
		upload_count(&u, "bad_image");
		api_error(ctx, 400, "Image is too large: %dx%d pixels (at most "
		    "%d megapixels)", u.width, u.height,
		    THUMB_MAX_PIXELS / 1000000);
		break;
	case UPLOAD_BAD_IMAGE:
		upload_count(&u, "bad_image");
		api_error(ctx, 400, "Image could not be decoded");
		break;
	default:
		upload_count(&u, "error");
		api_error(ctx, 500, "Could not store the file");
		break;
	}
}

/* Every answer carries the caller's upload limit (SPEC §3). */
static int
upload_ratelimit(struct api_ctx *ctx)
{
	struct ratelimit	rl;
	int			status;

	status = limits_upload(&ctx->user, &rl);
	api_limit_headers(ctx, &rl, status);
	if (status != 429)
		return (0);

	metrics_inc(METRIC_UPLOADS, "unknown", "rate_limited");
	api_error(ctx, 429, "Upload rate limit exceeded, try again later");
	return (-1);
}

/* Everything that can refuse the upload before a byte is written. */
static int
upload_check(struct api_ctx *ctx, struct upload *u)
{
	struct api_upload	*up;
	u_int8_t		*head;
	size_t			n;
	ssize_t			r;
	char			mime[FILETYPE_MIME_MAX];

	up = &ctx->upload;
	r = api_upload_find(ctx, UPLOAD_FIELD);
	if (r != 1) {
		metrics_inc(METRIC_UPLOADS, "unknown", "no_file");
		if (r == -1 && up->boundary[0] != '\0')
			api_error(ctx, 400, "Malformed multipart/form-data body");
		else
			api_error(ctx, 400, "No file uploaded");
		return (-1);
	}

	filetype_clean_name(up->filename, u->original, sizeof(u->original));
	u->ft = filetype_by_name(u->original, u->ext, sizeof(u->ext));
	if (u->ft == NULL) {
		upload_count(u, "rejected_type");
		api_error(ctx, 400, "File type %s%s not allowed. Allowed types: "
		    "%s", u->ext[0] != '\0' ? "." : "",
		    u->ext[0] != '\0' ? u->ext : "(none)", filetype_allowed());
		return (-1);
	}

	if (up->length > cfg.max_file_size) {
		upload_count(u, "too_large");
		api_error(ctx, 413, "File too large");
		return (-1);
	}
	if (up->length == 0) {
		upload_count(u, "rejected_type");
		api_error(ctx, 400, "Uploaded file is empty");
		return (-1);
	}

	/* The extension is the client's word; the bytes must agree. */
	n = up->length < FILETYPE_SNIFF_BYTES ? up->length :
	    FILETYPE_SNIFF_BYTES;
	if ((head = malloc(n)) == NULL) {
		api_error(ctx, 500, "Internal server error");
		return (-1);
	}
	r = api_upload_read(ctx, head, n, up->offset);
	if (r != (ssize_t)n || filetype_sniff(head, n, mime,
	    sizeof(mime)) == -1) {
		free(head);
		core_log("uploads: cannot read or sniff the body");
		upload_count(u, "error");
		api_error(ctx, 500, "Could not check the file type");
		return (-1);
	}
	free(head);

	if (!filetype_agrees(u->ft, mime)) {
		upload_count(u, "mismatch");
		api_error(ctx, 400, "File content (%s) does not match the .%s "
		    "extension", mime, u->ext);
		return (-1);
	}

	if (u->ft->image && !thumbs_ready) {
		upload_count(u, "error");
		api_error(ctx, 503, "Image processing is unavailable");
		return (-1);
	}

	return (0);
}

static int
upload_store(struct api_ctx *ctx, struct upload *u)
{
	int		fd, r;

	upload_uuid(u->uuid, sizeof(u->uuid));
	(void)snprintf(u->name, sizeof(u->name), "%s.%s", u->uuid, u->ext);
	if (upload_join(u->dir, sizeof(u->dir), cfg.upload_path,
	    u->ft->category) == -1 || upload_mkdir(u->dir) == -1)
		return (UPLOAD_ERROR);

	if (upload_join(u->tmp, sizeof(u->tmp), u->dir, ".upload-XXXXXX") == -1)
		return (UPLOAD_ERROR);
	if ((fd = mkstemp(u->tmp)) == -1) {
		core_log("uploads: mkstemp %s: %s", u->tmp, strerror(errno));
		return (UPLOAD_ERROR);
	}

	r = 0;
	if (fchmod(fd, 0644) == -1 || upload_copy(ctx, fd) == -1 ||
	    fsync(fd) == -1) {
		core_log("uploads: writing %s: %s", u->tmp, strerror(errno));
		r = UPLOAD_ERROR;
	}
	if (close(fd) == -1 && r == 0)
		r = UPLOAD_ERROR;

	if (r == 0 && u->ft->image)
		r = upload_image(u);

	if (r == 0 && upload_publish(u->dir, u->tmp, u->name) == -1)
		r = UPLOAD_ERROR;

	if (r != 0) {
		(void)unlink(u->tmp);
		if (u->thumb[0] != '\0' && upload_join(u->tmp,
		    sizeof(u->tmp), u->dir, "thumbs") == 0 &&
		    upload_join(u->tmp, sizeof(u->tmp), u->tmp, u->thumb) == 0)
			(void)unlink(u->tmp);
		u->thumb[0] = '\0';
		return (r);
	}

	upload_sync_dir(u->dir);
	return (0);
}

/* The part's bytes into fd: in-kernel from the body file when possible. */
static int
upload_copy(struct api_ctx *ctx, int fd)
{
	struct api_upload	*up;
	loff_t			in;
	size_t			done, n;
	ssize_t			r, w, k;
	u_int8_t		*buf;

	up = &ctx->upload;
	done = 0;

	if (up->body_fd != -1) {
		in = (loff_t)up->offset;
		while (done < up->length) {
			r = copy_file_range(up->body_fd, &in, fd, NULL,
			    up->length - done, 0);
			if (r <= 0)
				break;
			done += (size_t)r;
		}
		if (done == up->length)
			return (0);
		/* EXDEV, ENOSYS, ...: the plain copy below resumes. */
	}

	if ((buf = malloc(UPLOAD_COPY_CHUNK)) == NULL)
		return (-1);

	while (done < up->length) {
		n = up->length - done;
		if (n > UPLOAD_COPY_CHUNK)
			n = UPLOAD_COPY_CHUNK;
		r = api_upload_read(ctx, buf, n, up->offset + done);
		if (r <= 0)
			break;
		for (w = 0; w < r;) {
			k = write(fd, buf + w, (size_t)(r - w));
			if (k == -1 && errno == EINTR)
				continue;
			if (k <= 0) {
				free(buf);
				return (-1);
			}
			w += k;
		}
		done += (size_t)r;
	}

	free(buf);
	return (done == up->length ? 0 : -1);
}

/*
 * The header first: a decompression bomb (a small file claiming a huge
 * pixel count) is refused before any pixel is decoded.
 */
static int
upload_image(struct upload *u)
{
	char		err[256], thumbs[PATH_MAX];
	void		*buf;
	size_t		len;
	int		tw, th, r;

	if (thumb_probe(u->tmp, &u->width, &u->height) == -1) {
		thumb_error(err, sizeof(err));
		core_log("uploads: image header: %s", err);
		return (UPLOAD_BAD_IMAGE);
	}
	if ((int64_t)u->width * u->height > THUMB_MAX_PIXELS)
		return (UPLOAD_TOO_MANY_PIXELS);

	if (thumb_webp(u->tmp, &buf, &len, &tw, &th) == -1) {
		thumb_error(err, sizeof(err));
		core_log("uploads: thumbnail: %s", err);
		return (UPLOAD_BAD_IMAGE);
	}

	if (upload_join(thumbs, sizeof(thumbs), u->dir, "thumbs") == -1 ||
	    upload_mkdir(thumbs) == -1)
		r = -1;
	else
		r = upload_write_thumb(u, buf, len);
	thumb_free(buf);

	return (r == 0 ? 0 : UPLOAD_ERROR);
}

static int
upload_write_thumb(struct upload *u, const void *buf, size_t len)
{
	char		dir[PATH_MAX], tmp[PATH_MAX];
	size_t		off;
	ssize_t		w;
	int		fd, r;

	if (upload_join(dir, sizeof(dir), u->dir, "thumbs") == -1 ||
	    upload_join(tmp, sizeof(tmp), dir, ".thumb-XXXXXX") == -1 ||
	    (fd = mkstemp(tmp)) == -1)
		return (-1);

	r = fchmod(fd, 0644);
	for (off = 0; r == 0 && off < len; off += (size_t)w) {
		w = write(fd, (const u_int8_t *)buf + off, len - off);
		if (w == -1 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0)
			r = -1;
	}
	if (r == 0)
		r = fsync(fd);
	if (close(fd) == -1)
		r = -1;

	(void)snprintf(u->thumb, sizeof(u->thumb), "%s.webp", u->uuid);
	if (r == 0)
		r = upload_publish(dir, tmp, u->thumb);
	if (r != 0) {
		u->thumb[0] = '\0';
		core_log("uploads: thumbnail %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return (-1);
	}

	upload_sync_dir(dir);
	return (0);
}

/*
 * Gives tmp in dir its public name. RENAME_NOREPLACE: a name that exists
 * (a UUID collision) is an error, never an overwrite.
 */
static int
upload_publish(const char *dir, const char *tmp, const char *name)
{
	char		path[PATH_MAX];

	if (upload_join(path, sizeof(path), dir, name) == -1)
		return (-1);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return (0);

	/* A file system without RENAME_NOREPLACE. */
	if ((errno == EINVAL || errno == ENOSYS) && access(path, F_OK) == -1 &&
	    rename(tmp, path) == 0)
		return (0);

	core_log("uploads: rename %s to %s: %s", tmp, name, strerror(errno));
	return (-1);
}

/* A version 4 UUID from libsodium's CSPRNG. */
static void
upload_uuid(char *out, size_t len)
{
	u_int8_t	b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;

	(void)snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* out = a "/" b; -1 when it does not fit (out may be a). */
static int
upload_join(char *out, size_t len, const char *a, const char *b)
{
	size_t		alen, blen;

	alen = strlen(a);
	blen = strlen(b);
	if (alen + 1 + blen >= len)
		return (-1);

	if (out != a)
		memmove(out, a, alen);
	out[alen] = '/';
	memcpy(out + alen + 1, b, blen + 1);

	return (0);
}

static int
upload_mkdir(const char *dir)
{
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		core_log("uploads: mkdir %s: %s", dir, strerror(errno));
		return (-1);
	}

	return (0);
}

/* The rename itself survives a crash only once the directory is synced. */
static void
upload_sync_dir(const char *dir)
{
	int		fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return;
	(void)fsync(fd);
	(void)close(fd);
}

static void
upload_reply(struct api_ctx *ctx, struct upload *u)
{
	struct json	*j;
	char		url[1024], ts[32];

	json_iso8601(core_now_ms(), ts, sizeof(ts));

	j = api_out(ctx);
	json_obj_open(j);
	json_kbool(j, "success", 1);
	json_key(j, "file");
	json_obj_open(j);
	json_kstr(j, "originalName", u->original);
	json_kstr(j, "fileName", u->name);
	(void)snprintf(url, sizeof(url), "%s/upload/chat/%s/%s",
	    cfg.public_url, u->ft->category, u->name);
	json_kstr(j, "fileUrl", url);
	json_kint(j, "fileSize", (int64_t)ctx->upload.length);
	json_kstr(j, "mimeType", u->ft->content_type);
	json_kstr(j, "type", u->ft->type);
	json_kstr(j, "uploadedBy", ctx->user.id);
	json_kstr(j, "uploadedAt", ts);
	if (u->thumb[0] != '\0') {
		(void)snprintf(url, sizeof(url), "%s/upload/chat/%s/thumbs/%s",
		    cfg.public_url, u->ft->category, u->thumb);
		json_kstr(j, "thumbnailUrl", url);
		json_kint(j, "width", u->width);
		json_kint(j, "height", u->height);
	}
	json_obj_close(j);
	json_obj_close(j);

	api_reply(ctx, 201);
}

static void
upload_count(const struct upload *u, const char *result)
{
	metrics_inc(METRIC_UPLOADS, u->ft != NULL ? u->ft->category : "unknown",
	    result);
}
