/*
 * libvips glue for uploads (see thumb.h).
 *
 * libvips is set up for a server that opens untrusted files: no JIT, one
 * pixel thread per operation (each Kore task thread is already a unit of
 * parallelism), no operation cache (it would keep deleted temp files
 * open and hold decoded pixels), and every loader blocked except the four
 * formats we accept, so a file that slipped past the sniffing still
 * never reaches ImageMagick, poppler or the SVG loader.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>
#include <vips/vector.h>

#include "lib/thumb.h"

static const char	*allowed_loaders[] = {
	"VipsForeignLoadJpeg",
	"VipsForeignLoadPng",
	"VipsForeignLoadSpng",
	"VipsForeignLoadNsgif",
	"VipsForeignLoadGif",
	"VipsForeignLoadWebp",
	NULL
};

int
thumb_init(const char *argv0)
{
	int		i;

	/*
	 * vips_init() dlopens its plugin modules (ImageMagick, poppler,
	 * OpenSlide, HEIF, JXL) from $VIPSHOME/lib. We never use them, and
	 * their libraries' constructors make syscalls the sandbox refuses:
	 * point VIPSHOME at a place without modules unless the operator set
	 * it.
	 */
	(void)setenv("VIPSHOME", "/nonexistent/lnk-chat-no-vips-modules", 0);

	if (VIPS_INIT(argv0) != 0)
		return (-1);

	/*
	 * No ORC: it JIT-compiles pixel loops into memory that is mapped
	 * writable and executable through a temp file, which the sandbox
	 * forbids (and which we do not want in a server). The C paths are
	 * fast enough for thumbnails.
	 */
	vips_vector_set_enabled(FALSE);
	vips_concurrency_set(1);
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);

	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for (i = 0; allowed_loaders[i] != NULL; i++)
		vips_operation_block_set(allowed_loaders[i], FALSE);

	return (0);
}

int
thumb_probe(const char *path, int *w, int *h)
{
	VipsImage	*img;

	img = vips_image_new_from_file(path, "access",
	    VIPS_ACCESS_SEQUENTIAL, NULL);
	if (img == NULL)
		return (-1);

	*w = vips_image_get_width(img);
	*h = vips_image_get_height(img);
	g_object_unref(img);

	return (0);
}

int
thumb_webp(const char *path, void **buf, size_t *len, int *w, int *h)
{
	VipsImage	*out;
	int		r;

	/* A broken or truncated image is refused, not half-rendered. */
	if (vips_thumbnail(path, &out, THUMB_SIZE, "height", THUMB_SIZE,
	    "size", VIPS_SIZE_DOWN, "fail_on", VIPS_FAIL_ON_ERROR, NULL) != 0)
		return (-1);

	*w = vips_image_get_width(out);
	*h = vips_image_get_height(out);
	r = vips_webpsave_buffer(out, buf, len, "Q", 75, "strip", TRUE, NULL);
	g_object_unref(out);

	return (r == 0 ? 0 : -1);
}

void
thumb_free(void *buf)
{
	g_free(buf);
}

void
thumb_error(char *out, size_t outlen)
{
	size_t		len;

	(void)snprintf(out, outlen, "%s", vips_error_buffer());
	vips_error_clear();

	len = strlen(out);
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
}
