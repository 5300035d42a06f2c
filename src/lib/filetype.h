/*
 * What may be uploaded: the extension allow-list of the original service
 * (peer contract §4.4), the content types libmagic must agree with for
 * each extension (SPEC §2.16), and how stored files are served. Pure C
 * plus libmagic; no Kore. Safe from any thread.
 */

#ifndef LNK_LIB_FILETYPE_H
#define LNK_LIB_FILETYPE_H

#include <sys/types.h>
#include <stddef.h>

#define FILETYPE_EXT_MAX	16
#define FILETYPE_MIME_MAX	128
/* How much of a file is handed to libmagic. */
#define FILETYPE_SNIFF_BYTES	(64 * 1024)

struct filetype {
	const char	*ext;		/* lower case, no dot: "jpg" */
	const char	*category;	/* directory and metrics label */
	const char	*type;		/* "type" in the upload response */
	const char	*content_type;	/* served with this Content-Type */
	int		attachment;	/* served as a download */
	int		image;		/* gets a thumbnail */
	const char	*sniffed[8];	/* libmagic types that agree; "text/" */
					/* ending in '/' matches a prefix */
};

/* The entry for a file name's extension (case-insensitive), or NULL. */
const struct filetype	*filetype_by_name(const char *, char *, size_t);
/* The entry for a lower-case extension without the dot, or NULL. */
const struct filetype	*filetype_by_ext(const char *);
/* ".jpg, .jpeg, ..., .rtf" for the 400 message. */
const char		*filetype_allowed(void);
/* Does libmagic's MIME type agree with the extension? */
int			filetype_agrees(const struct filetype *, const char *);

/*
 * libmagic's MIME type for the first bytes of a file into out, with a
 * per-thread cookie (libmagic is not thread-safe). -1 when libmagic
 * cannot be used.
 */
int			filetype_sniff(const void *, size_t, char *, size_t);

/*
 * The name a client sent, made safe to store and echo: the last path
 * component only, valid UTF-8 (bad bytes become '_'), no control
 * characters, at most outlen - 1 bytes without cutting a character.
 */
void			filetype_clean_name(const char *, char *, size_t);

#endif
