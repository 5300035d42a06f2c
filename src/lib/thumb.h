/*
 * Image checks and thumbnails with libvips. Pure C (no Kore); the calls
 * block and belong on task threads. thumb_init() runs once per process
 * (each worker) before any other call.
 */

#ifndef LNK_LIB_THUMB_H
#define LNK_LIB_THUMB_H

#include <sys/types.h>
#include <stddef.h>

/* Longest side of a thumbnail, in pixels. */
#define THUMB_SIZE		320
/* Images with more pixels than this are refused before decoding. */
#define THUMB_MAX_PIXELS	(40 * 1000 * 1000)

int	thumb_init(const char *);

/*
 * Reads only the header of the image file at path: its size in pixels
 * (the first frame of an animation). 0 on success, -1 when libvips
 * cannot read it as one of the allowed formats (JPEG, PNG, GIF, WebP).
 */
int	thumb_probe(const char *, int *, int *);

/*
 * A WebP thumbnail (at most THUMB_SIZE on its longest side, EXIF
 * orientation applied, metadata stripped) of the image file at path, in
 * a buffer released with thumb_free(). Its size goes to *w, *h. Fails on
 * any decoding error, truncation included: the whole image is decoded.
 */
int	thumb_webp(const char *, void **, size_t *, int *, int *);
void	thumb_free(void *);

/* The last libvips error of this thread, for logs (then cleared). */
void	thumb_error(char *, size_t);

#endif
