/*
 * Files served outside the REST framework, straight from the worker:
 *
 *   /upload/chat/...  uploaded files (UPLOAD_PATH), immutable random names
 *   /api/docs[/...]   the API docs page and openapi.json (assets/docs/)
 *   /...              everything else under assets/ (the demo client)
 *
 * A path is decoded and checked (lib/safepath.c) and opened with an
 * openat() walk that follows no symlink, so nothing outside the root is
 * ever reached. Bodies go out with sendfile through Kore's filerefs; the
 * worker only does a few non-blocking metadata syscalls per request.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/config.h"
#include "core/core.h"
#include "core/metrics.h"
#include "lib/filetype.h"
#include "lib/json.h"
#include "lib/safepath.h"

#define FILES_ASSETS		"assets"
#define FILES_DOCS		"assets/docs"

#define FILES_UPLOADS		1
#define FILES_STATIC		2
#define FILES_DOCS_PAGE		3

int	upload_serve(struct http_request *);
int	static_serve(struct http_request *);
int	docs_serve(struct http_request *);

static int	files_serve(struct http_request *, int, const char *,
		    const char *, const char *);
static int	files_open(struct http_request *, int, const char *,
		    const char *, char *, size_t, struct stat *);
static const char *files_static_type(const char *);
static void	files_upload_headers(struct http_request *,
		    const struct filetype *, const char *);
static void	files_send(struct http_request *, const char *,
		    const char *, int, struct stat *, const char *);
static int	files_error(struct http_request *, int, const char *);
static void	files_count(struct http_request *, const char *, int);
static const char *files_csp(void);

static const struct {
	const char	*ext;
	const char	*type;
} static_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "woff2", "font/woff2" },
	{ NULL, NULL }
};

int
upload_serve(struct http_request *req)
{
	return (files_serve(req, FILES_UPLOADS, cfg.upload_path,
	    req->path + strlen("/upload/chat/"), "/upload/chat/*"));
}

int
static_serve(struct http_request *req)
{
	return (files_serve(req, FILES_STATIC, FILES_ASSETS, req->path, "/*"));
}

/* /api/docs is the page, /api/docs/openapi.json the document. */
int
docs_serve(struct http_request *req)
{
	return (files_serve(req, FILES_DOCS_PAGE, FILES_DOCS,
	    req->path + strlen("/api/docs"), "/api/docs"));
}

static int
files_serve(struct http_request *req, int kind, const char *root,
    const char *rawpath, const char *route)
{
	struct stat		st;
	const struct filetype	*ft;
	const char		*type;
	char			rel[1024], ext[FILETYPE_EXT_MAX];
	int			fd;

	if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD) {
		http_response_header(req, "allow", "GET, HEAD");
		files_count(req, route, 405);
		return (files_error(req, 405, "Method Not Allowed"));
	}

	fd = files_open(req, kind, root, rawpath, rel, sizeof(rel), &st);
	if (fd == -1) {
		files_count(req, route, req->status ? req->status : 404);
		return (KORE_RESULT_OK);
	}

	if (kind == FILES_UPLOADS) {
		/* Only what could have been uploaded, typed by its extension. */
		if ((ft = filetype_by_name(rel, ext, sizeof(ext))) == NULL) {
			(void)close(fd);
			files_count(req, route, 404);
			return (files_error(req, 404, NULL));
		}
		files_upload_headers(req, ft, rel);
		type = ft->content_type;
	} else {
		type = files_static_type(rel);
		http_response_header(req, "cache-control", "no-cache");
		http_response_header(req, "content-security-policy",
		    files_csp());
	}

	/* x-content-type-options: every answer has it (http/framing.c). */
	files_send(req, root, rel, fd, &st, type);
	files_count(req, route, req->status);

	return (KORE_RESULT_OK);
}

/*
 * The fd of the requested regular file, rel its checked relative path.
 * On failure the error response has been written and -1 is returned.
 */
static int
files_open(struct http_request *req, int kind, const char *root,
    const char *rawpath, char *rel, size_t rlen, struct stat *st)
{
	char		loc[1100];
	size_t		len;
	int		dir, fd;

	if (safepath_decode(rawpath, rel, rlen, &dir) == -1) {
		(void)files_error(req, 404, NULL);
		return (-1);
	}

	/*
	 * Directory index. The docs page has a name of its own: kodev embeds
	 * every file under assets/ into the module, named by basename, so
	 * two index.html files would not link.
	 */
	if (kind != FILES_UPLOADS && (dir || rel[0] == '\0')) {
		len = strlen(rel);
		(void)snprintf(rel + len, rlen - len, "%s%s", len ? "/" : "",
		    kind == FILES_DOCS_PAGE ? "apidocs.html" : "index.html");
	}

	if ((fd = safepath_open(root, rel, st)) != -1)
		return (fd);

	/* A directory asked for without its slash: relative links need it. */
	if (errno == EISDIR && kind != FILES_UPLOADS &&
	    (size_t)snprintf(loc, sizeof(loc), "%s/", req->path) <
	    sizeof(loc)) {
		http_response_header(req, "location", loc);
		http_response(req, 301, NULL, 0);
		return (-1);
	}

	(void)files_error(req, 404, NULL);
	return (-1);
}

static const char *
files_static_type(const char *rel)
{
	const char	*dot;
	int		i;

	if ((dot = strrchr(rel, '.')) != NULL && strchr(dot, '/') == NULL) {
		for (i = 0; static_types[i].ext != NULL; i++) {
			if (!strcasecmp(dot + 1, static_types[i].ext))
				return (static_types[i].type);
		}
	}

	return ("application/octet-stream");
}

/*
 * Uploaded names are random and never reused, so they cache forever.
 * Nothing uploaded may run in our origin: documents download, and the
 * sandbox CSP neuters anything a browser would still render.
 */
static void
files_upload_headers(struct http_request *req, const struct filetype *ft,
    const char *rel)
{
	const char	*name;
	char		disp[320];

	http_response_header(req, "cache-control",
	    "public, max-age=31536000, immutable");
	http_response_header(req, "content-security-policy",
	    "default-src 'none'; style-src 'unsafe-inline'; sandbox");

	if (ft->attachment) {
		name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
		(void)snprintf(disp, sizeof(disp), "attachment; filename=\"%.200s\"",
		    name);
		http_response_header(req, "content-disposition", disp);
	}
}

/*
 * sendfile through a Kore fileref, cached per path and revalidated by
 * mtime. Kore sets Content-Type itself for the few extensions it knows
 * (png, jpg, gif, pdf, txt, html, css, js, json); ours is added for the
 * others only, so the header is never sent twice.
 */
static void
files_send(struct http_request *req, const char *root, const char *rel,
    int fd, struct stat *st, const char *type)
{
	struct kore_fileref	*ref;
	struct kore_server	*srv;
	char			key[PATH_MAX];

	srv = req->owner->owner->server;
	if (st->st_size == 0) {
		(void)close(fd);
		http_response_header(req, "content-type", type);
		http_response(req, HTTP_STATUS_OK, NULL, 0);
		return;
	}
	if ((size_t)snprintf(key, sizeof(key), "%s/%s", root, rel) >=
	    sizeof(key)) {
		(void)close(fd);
		(void)files_error(req, 404, NULL);
		return;
	}

	/* fd was opened safely; a cached ref of the same path is the same. */
	if ((ref = kore_fileref_get(key, srv->tls)) != NULL) {
		(void)close(fd);
	} else if ((ref = kore_fileref_create(srv, key, fd, st->st_size,
	    &st->st_mtim)) == NULL) {
		(void)close(fd);
		(void)files_error(req, 500, "Internal Server Error");
		return;
	}

	if (http_media_type(key) == NULL)
		http_response_header(req, "content-type", type);
	http_response_fileref(req, HTTP_STATUS_OK, ref);
}

/* The API's JSON error body, "Cannot GET /path" for a 404. */
static int
files_error(struct http_request *req, int status, const char *msg)
{
	struct json	j;
	const u_int8_t	*data;
	size_t		len;
	char		text[1200];

	if (msg == NULL) {
		(void)snprintf(text, sizeof(text), "Cannot %s %s",
		    http_method_text(req->method), req->path);
		msg = text;
	}

	json_init(&j);
	json_obj_open(&j);
	json_kint(&j, "statusCode", status);
	json_kstr(&j, "message", msg);
	json_kstr(&j, "error", status == 404 ? "Not Found" :
	    status == 405 ? "Method Not Allowed" : "Internal Server Error");
	json_obj_close(&j);
	data = json_data(&j, &len);

	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	http_response(req, status, data, len);
	json_free(&j);

	return (KORE_RESULT_OK);
}

static void
files_count(struct http_request *req, const char *route, int status)
{
	metrics_http(route, req->method, status,
	    (int64_t)(kore_time_ms() - req->start));
}

/*
 * The demo page and the docs page: scripts, styles and fonts from here
 * only, nothing inline, no eval; the API, Socket.IO (polling and
 * websocket) and images from here or PUBLIC_URL (where uploads are);
 * no plugins, no framing, no <base>, forms post here only.
 */
static const char *
files_csp(void)
{
	static char	csp[768];
	const char	*host, *path;
	int		len;

	if (csp[0] != '\0')
		return (csp);

	/* PUBLIC_URL's origin: scheme, host and port, no path. */
	host = strstr(cfg.public_url, "://");
	host = host != NULL ? host + 3 : cfg.public_url;
	path = strchr(host, '/');
	len = path != NULL ? (int)(path - cfg.public_url) :
	    (int)strlen(cfg.public_url);

	(void)snprintf(csp, sizeof(csp), "default-src 'none'; "
	    "script-src 'self'; style-src 'self'; font-src 'self'; "
	    "img-src 'self' data: %.*s; connect-src 'self'; "
	    "manifest-src 'self'; base-uri 'none'; form-action 'self'; "
	    "frame-ancestors 'none'; object-src 'none'", len, cfg.public_url);

	return (csp);
}
