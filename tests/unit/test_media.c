/*
 * Upload codecs: multipart locator, allow-list and sniffing, file name
 * cleaning, URL path checks and the no-symlink open.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/filetype.h"
#include "lib/multipart.h"
#include "lib/safepath.h"

struct mem {
	const char	*data;
	size_t		len;
	size_t		maxread;	/* short reads, to exercise windows */
};

static ssize_t
mem_read(void *arg, void *buf, size_t len, size_t off)
{
	struct mem	*m = arg;

	if (off >= m->len)
		return (0);
	if (len > m->len - off)
		len = m->len - off;
	if (m->maxread && len > m->maxread)
		len = m->maxread;
	memcpy(buf, m->data + off, len);
	return ((ssize_t)len);
}

static int
find(const char *body, size_t len, const char *boundary,
    struct multipart_part *p, size_t maxread)
{
	struct mem	m = { body, len, maxread };

	return (multipart_find_file(mem_read, &m, len, boundary, "file", p));
}

static void
test_boundary(void **state)
{
	char	b[MULTIPART_BOUNDARY_MAX];

	assert_int_equal(multipart_boundary(
	    "multipart/form-data; boundary=----abc", b, sizeof(b)), 0);
	assert_string_equal(b, "----abc");
	assert_int_equal(multipart_boundary(
	    "Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"", b,
	    sizeof(b)), 0);
	assert_string_equal(b, "a b:c");
	assert_int_equal(multipart_boundary("application/json", b,
	    sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data", b,
	    sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; boundary=",
	    b, sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; boundary="
	    "01234567890123456789012345678901234567890123456789012345678901234"
	    "567890", b, sizeof(b)), -1);
}

static void
test_find_file(void **state)
{
	static const char	body[] =
	    "preamble\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
	    "hello\r\n"
	    "--XyZ\r\n"
	    "content-disposition: form-data; name=\"file\"; "
	    "filename=\"C:\\fake\\a \\\"b\\\".PNG\"\r\n"
	    "Content-Type: image/png\r\n\r\n"
	    "\x89PNG\r\n--XyZnot-a-boundary\r\n"
	    "--XyZ--\r\n";
	struct multipart_part	p;
	size_t			i;

	/* Every read size gives the same answer (window boundaries). */
	for (i = 0; i < 40; i++) {
		memset(&p, 0, sizeof(p));
		assert_int_equal(find(body, sizeof(body) - 1, "XyZ", &p, i), 1);
		assert_string_equal(p.name, "file");
		assert_string_equal(p.filename, "C:\\fake\\a \"b\".PNG");
		assert_string_equal(p.content_type, "image/png");
		assert_int_equal(p.length, 25);
		assert_memory_equal(body + p.offset, "\x89PNG\r\n--XyZnot", 14);
	}
}

static void
test_find_rfc5987_and_empty(void **state)
{
	static const char	b1[] =
	    "--q\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"x.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n\r\n"
	    "\r\n--q--";
	static const char	b2[] =
	    "--q\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"\"\r\n\r\n\r\n--q--";
	struct multipart_part	p;

	assert_int_equal(find(b1, sizeof(b1) - 1, "q", &p, 0), 1);
	assert_string_equal(p.filename, "\xc3\xa9t\xc3\xa9.txt");
	assert_int_equal(p.length, 0);

	/* No file chosen in a browser form: not an upload. */
	assert_int_equal(find(b2, sizeof(b2) - 1, "q", &p, 0), 0);
}

static void
test_find_malformed(void **state)
{
	static const char	*bad[] = {
		"",
		"no delimiter at all",
		"--q\r\nContent-Disposition: form-data; name=\"file\"; "
		    "filename=\"a\"\r\n\r\nnever closed",
		"--q\r\nno colon line\r\n\r\ndata\r\n--q--",
		"--qjunk",
		NULL
	};
	static const char	other[] = "--q\r\nContent-Disposition: "
	    "form-data; name=\"other\"; filename=\"a.png\"\r\n\r\nx\r\n--q--";
	struct multipart_part	p;
	int			i;

	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(find(bad[i], strlen(bad[i]), "q", &p, 0), -1);

	/* A well formed body without the field. */
	assert_int_equal(find(other, strlen(other), "q", &p, 0), 0);
}

static void
test_filetype(void **state)
{
	const struct filetype	*ft;
	char			ext[FILETYPE_EXT_MAX], mime[128];
	static const u_int8_t	png[] = { 0x89, 'P', 'N', 'G', '\r', '\n',
	    0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0,
	    1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde };

	assert_non_null(ft = filetype_by_name("Photo.JPEG", ext, sizeof(ext)));
	assert_string_equal(ext, "jpeg");
	assert_string_equal(ft->category, "images");
	assert_string_equal(ft->type, "image");
	assert_non_null(ft = filetype_by_name("a.tar.DOCX", ext, sizeof(ext)));
	assert_string_equal(ft->type, "file");
	assert_true(ft->attachment);
	assert_null(filetype_by_name("x.exe", ext, sizeof(ext)));
	assert_string_equal(ext, "exe");
	assert_null(filetype_by_name(".png", ext, sizeof(ext)));
	assert_null(filetype_by_name("noext", ext, sizeof(ext)));
	assert_string_equal(filetype_allowed(), ".jpg, .jpeg, .png, .gif, "
	    ".webp, .mp4, .mov, .avi, .mkv, .mp3, .wav, .aac, .m4a, .pdf, "
	    ".doc, .docx, .txt, .rtf");

	assert_int_equal(filetype_sniff(png, sizeof(png), mime,
	    sizeof(mime)), 0);
	assert_string_equal(mime, "image/png");
	assert_true(filetype_agrees(filetype_by_ext("png"), mime));
	assert_false(filetype_agrees(filetype_by_ext("jpg"), mime));
	assert_false(filetype_agrees(filetype_by_ext("txt"), mime));

	assert_int_equal(filetype_sniff("plain words\n", 12, mime,
	    sizeof(mime)), 0);
	assert_true(filetype_agrees(filetype_by_ext("txt"), mime));
	assert_false(filetype_agrees(filetype_by_ext("pdf"), mime));
	assert_int_equal(filetype_sniff("%PDF-1.4\n%\xe2\xe3\n", 14, mime,
	    sizeof(mime)), 0);
	assert_true(filetype_agrees(filetype_by_ext("pdf"), mime));
}

static void
test_clean_name(void **state)
{
	char	out[16];

	filetype_clean_name("C:\\fakepath\\a.png", out, sizeof(out));
	assert_string_equal(out, "a.png");
	filetype_clean_name("../../etc/passwd", out, sizeof(out));
	assert_string_equal(out, "passwd");
	filetype_clean_name("a\x01\x7f" "b\xff\xc3\xa9.txt", out, sizeof(out));
	assert_string_equal(out, "ab_\xc3\xa9.txt");
	/* Overlong and surrogate encodings are not valid UTF-8. */
	filetype_clean_name("\xc0\xaf\xed\xa0\x80", out, sizeof(out));
	assert_string_equal(out, "_____");
	/* Cut at a character boundary. */
	filetype_clean_name("abcdefghijklm\xc3\xa9z", out, sizeof(out));
	assert_string_equal(out, "abcdefghijklm\xc3\xa9");
	filetype_clean_name("abcdefghijklmn\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "abcdefghijklmn");
}

static void
test_safepath_decode(void **state)
{
	static const char	*bad[] = {
		"../etc/passwd", "a/../../b", "%2e%2e/x", "%2e%2e%2fx",
		"a/..%2f..%2fb", "%252e%252e%252f", "a%5c..%5cb", "a\\b",
		"x.png%00.txt", ".git/config", "a/.hidden", "a//b", "%zz",
		"%2", "a/./b", "a%0ab", NULL
	};
	char		out[64];
	int		i, dir;

	for (i = 0; bad[i] != NULL; i++) {
		if (safepath_decode(bad[i], out, sizeof(out), &dir) != -1)
			fail_msg("accepted %s", bad[i]);
	}

	assert_int_equal(safepath_decode("/images/a%20b.png", out,
	    sizeof(out), &dir), 0);
	assert_string_equal(out, "images/a b.png");
	assert_int_equal(dir, 0);
	assert_int_equal(safepath_decode("/docs/", out, sizeof(out), &dir), 0);
	assert_string_equal(out, "docs");
	assert_int_equal(dir, 1);
	assert_int_equal(safepath_decode("", out, sizeof(out), &dir), 0);
	assert_string_equal(out, "");
	assert_int_equal(safepath_decode("a/b/c/d/e/f/g/h/i", out,
	    sizeof(out), &dir), -1);
}

static void
test_safepath_open(void **state)
{
	struct stat	st;
	char		root[] = "/tmp/lnk-safepath-XXXXXX", p[512];
	int		fd;

	assert_non_null(mkdtemp(root));
	(void)snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(mkdir(p, 0755), 0);
	(void)snprintf(p, sizeof(p), "%s/sub/f.txt", root);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hi", 2), 2);
	close(fd);
	(void)snprintf(p, sizeof(p), "%s/link.txt", root);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	(void)snprintf(p, sizeof(p), "%s/dirlink", root);
	assert_int_equal(symlink("/etc", p), 0);
	(void)snprintf(p, sizeof(p), "%s/fifo", root);
	assert_int_equal(mkfifo(p, 0644), 0);

	fd = safepath_open(root, "sub/f.txt", &st);
	assert_true(fd >= 0);
	assert_int_equal(st.st_size, 2);
	close(fd);

	assert_int_equal(safepath_open(root, "link.txt", &st), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(safepath_open(root, "dirlink/passwd", &st), -1);
	assert_int_equal(safepath_open(root, "sub", &st), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(safepath_open(root, "fifo", &st), -1);
	assert_int_equal(safepath_open(root, "nope", &st), -1);
	assert_int_equal(errno, ENOENT);

	(void)snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_find_file),
		cmocka_unit_test(test_find_rfc5987_and_empty),
		cmocka_unit_test(test_find_malformed),
		cmocka_unit_test(test_filetype),
		cmocka_unit_test(test_clean_name),
		cmocka_unit_test(test_safepath_decode),
		cmocka_unit_test(test_safepath_open),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
