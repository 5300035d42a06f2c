/*
 * Query-string paging numbers (http/paging): clamped, never an error;
 * cursors strict.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/paging.h"

static void
test_clamp(void **state)
{
	(void)state;
	assert_int_equal(paging_clamp(NULL, 20, 100), 20);
	assert_int_equal(paging_clamp("", 20, 100), 20);
	assert_int_equal(paging_clamp("abc", 20, 100), 20);
	assert_int_equal(paging_clamp("0", 20, 100), 20);
	assert_int_equal(paging_clamp("-5", 1, 100), 1);
	assert_int_equal(paging_clamp("7", 20, 100), 7);
	assert_int_equal(paging_clamp("12abc", 20, 100), 12);
	assert_int_equal(paging_clamp("1000", 20, 100), 100);
	assert_int_equal(paging_clamp("99999999999999999999999", 1, 50), 50);
}

static void
test_uint(void **state)
{
	int64_t		v;

	(void)state;
	assert_int_equal(paging_uint("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(paging_uint("123", &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(paging_uint("-1", &v), -1);
	assert_int_equal(paging_uint("+1", &v), -1);
	assert_int_equal(paging_uint("1.5", &v), -1);
	assert_int_equal(paging_uint("12abc", &v), -1);
	assert_int_equal(paging_uint("", &v), -1);
	assert_int_equal(paging_uint(NULL, &v), -1);
	assert_int_equal(paging_uint("99999999999999999999999", &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_uint),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
