/*
 * In-process cost of the upload's image work (src/lib/thumb.c exactly as
 * the server runs it): header probe + WebP thumbnail of one file, N times.
 * Built and run by bench/thumbnail/run; prints one line per run in ms.
 */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/thumb.h"

static double
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
}

int
main(int argc, char **argv)
{
	void		*buf;
	size_t		len;
	double		t0;
	int		i, n, w, h, tw, th;

	if (argc != 3) {
		fprintf(stderr, "usage: thumb_bench FILE RUNS\n");
		return (2);
	}
	n = atoi(argv[2]);
	if (thumb_init(argv[0]) == -1)
		return (1);

	for (i = 0; i < n; i++) {
		t0 = now_ms();
		if (thumb_probe(argv[1], &w, &h) == -1 ||
		    thumb_webp(argv[1], &buf, &len, &tw, &th) == -1)
			return (1);
		thumb_free(buf);
		printf("%.1f\n", now_ms() - t0);
	}
	fprintf(stderr, "%dx%d -> %dx%d WebP, %zu bytes\n", w, h, tw, th, len);

	return (0);
}
