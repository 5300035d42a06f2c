/*
 * Upload allow-list and content sniffing (see filetype.h).
 *
 * The sniffed lists are what libmagic 5.4x reports for real files of
 * each kind, including the container variants clients produce (an .m4a
 * is an MP4 container, a .docx a zip, a .doc an OLE2 compound file).
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <magic.h>

#include "lib/filetype.h"

static int	filetype_utf8_len(const unsigned char *, size_t);

static const struct filetype	types[] = {
	{ "jpg", "images", "image", "image/jpeg", 0, 1,
	    { "image/jpeg", NULL } },
	{ "jpeg", "images", "image", "image/jpeg", 0, 1,
	    { "image/jpeg", NULL } },
	{ "png", "images", "image", "image/png", 0, 1,
	    { "image/png", NULL } },
	{ "gif", "images", "image", "image/gif", 0, 1,
	    { "image/gif", NULL } },
	{ "webp", "images", "image", "image/webp", 0, 1,
	    { "image/webp", NULL } },

	{ "mp4", "videos", "video", "video/mp4", 0, 0,
	    { "video/mp4", "video/x-m4v", "video/quicktime", "video/3gpp",
	    "application/mp4", NULL } },
	{ "mov", "videos", "video", "video/quicktime", 0, 0,
	    { "video/quicktime", "video/mp4", NULL } },
	{ "avi", "videos", "video", "video/x-msvideo", 0, 0,
	    { "video/x-msvideo", "video/avi", "video/msvideo", NULL } },
	{ "mkv", "videos", "video", "video/x-matroska", 0, 0,
	    { "video/x-matroska", "video/webm", "audio/x-matroska", NULL } },

	{ "mp3", "audio", "audio", "audio/mpeg", 0, 0,
	    { "audio/mpeg", "audio/x-mp3", "audio/mp3", NULL } },
	{ "wav", "audio", "audio", "audio/wav", 0, 0,
	    { "audio/x-wav", "audio/wav", "audio/vnd.wave", "audio/wave",
	    NULL } },
	{ "aac", "audio", "audio", "audio/aac", 0, 0,
	    { "audio/x-hx-aac-adts", "audio/aac", "audio/x-aac",
	    "audio/x-hx-aac-adif", NULL } },
	{ "m4a", "audio", "audio", "audio/mp4", 0, 0,
	    { "audio/x-m4a", "audio/mp4", "video/mp4", "audio/m4a", NULL } },

	{ "pdf", "documents", "file", "application/pdf", 1, 0,
	    { "application/pdf", NULL } },
	{ "doc", "documents", "file", "application/msword", 1, 0,
	    { "application/msword", "application/x-ole-storage",
	    "application/CDFV2", "application/vnd.ms-office", NULL } },
	{ "docx", "documents", "file", "application/vnd.openxmlformats-"
	    "officedocument.wordprocessingml.document", 1, 0,
	    { "application/vnd.openxmlformats-officedocument."
	    "wordprocessingml.document", "application/zip", NULL } },
	{ "txt", "documents", "file", "text/plain", 1, 0,
	    { "text/", "application/json", NULL } },
	{ "rtf", "documents", "file", "application/rtf", 1, 0,
	    { "text/rtf", "application/rtf", NULL } },

	{ NULL, NULL, NULL, NULL, 0, 0, { NULL } }
};

static __thread magic_t	tl_magic;
static __thread int	tl_magic_failed;

const struct filetype *
filetype_by_ext(const char *ext)
{
	int		i;

	for (i = 0; types[i].ext != NULL; i++) {
		if (!strcmp(types[i].ext, ext))
			return (&types[i]);
	}

	return (NULL);
}

const struct filetype *
filetype_by_name(const char *name, char *ext, size_t extlen)
{
	const char	*dot;
	size_t		i, len;

	ext[0] = '\0';
	if ((dot = strrchr(name, '.')) == NULL || dot == name)
		return (NULL);

	dot++;
	len = strlen(dot);
	if (len == 0 || len >= extlen)
		return (NULL);
	for (i = 0; i < len; i++)
		ext[i] = (char)tolower((unsigned char)dot[i]);
	ext[len] = '\0';

	return (filetype_by_ext(ext));
}

const char *
filetype_allowed(void)
{
	static char	list[256];
	size_t		off;
	int		i;

	/* Built once from a constant table: the race is benign. */
	if (list[0] != '\0')
		return (list);

	off = 0;
	for (i = 0; types[i].ext != NULL && off < sizeof(list); i++) {
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "%s.%s", i ? ", " : "", types[i].ext);
	}

	return (list);
}

int
filetype_agrees(const struct filetype *ft, const char *mime)
{
	size_t		len;
	int		i;

	for (i = 0; ft->sniffed[i] != NULL; i++) {
		len = strlen(ft->sniffed[i]);
		if (ft->sniffed[i][len - 1] == '/') {
			if (!strncasecmp(mime, ft->sniffed[i], len))
				return (1);
		} else if (!strcasecmp(mime, ft->sniffed[i])) {
			return (1);
		}
	}

	return (0);
}

int
filetype_sniff(const void *buf, size_t len, char *out, size_t outlen)
{
	const char	*m;

	if (tl_magic == NULL) {
		if (tl_magic_failed)
			return (-1);
		/* No decompression: a sniff never spends more than a read. */
		tl_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR |
		    MAGIC_NO_CHECK_COMPRESS);
		if (tl_magic == NULL || magic_load(tl_magic, NULL) == -1) {
			if (tl_magic != NULL)
				magic_close(tl_magic);
			tl_magic = NULL;
			tl_magic_failed = 1;
			return (-1);
		}
	}

	if ((m = magic_buffer(tl_magic, buf, len)) == NULL)
		return (-1);

	(void)snprintf(out, outlen, "%s", m);
	return (0);
}

void
filetype_clean_name(const char *in, char *out, size_t outlen)
{
	const unsigned char	*p, *base;
	size_t			o;
	int			n;

	/* Browsers on Windows have sent "C:\fakepath\x.png". */
	base = (const unsigned char *)in;
	for (p = base; *p != '\0'; p++) {
		if (*p == '/' || *p == '\\')
			base = p + 1;
	}

	o = 0;
	for (p = base; *p != '\0';) {
		n = filetype_utf8_len(p, strlen((const char *)p));
		if (n <= 0) {
			if (o + 1 >= outlen)
				break;
			out[o++] = '_';
			p++;
			continue;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			p++;
			continue;
		}
		if (o + (size_t)n >= outlen)
			break;
		memcpy(out + o, p, (size_t)n);
		o += (size_t)n;
		p += n;
	}
	out[o] = '\0';
}

/* Length of the valid UTF-8 sequence at s, or -1 (overlongs, surrogates). */
static int
filetype_utf8_len(const unsigned char *s, size_t len)
{
	u_int32_t	cp;
	int		n, i;

	if (s[0] < 0x80)
		return (1);
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return (-1);
	}

	if ((size_t)n > len)
		return (-1);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (-1);
		cp = (cp << 6) | (s[i] & 0x3f);
	}

	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return (-1);

	return (n);
}
