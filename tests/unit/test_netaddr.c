/*
 * Client addresses behind a proxy (security review item 3): parsing,
 * trusted networks, and which address X-Real-IP / X-Forwarded-For may
 * name.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/netaddr.h"

static struct netaddr_net	loopback[NETADDR_MAX_NETS];
static size_t			nloopback;

static int
setup(void **state)
{
	(void)state;
	return (netaddr_parse_list(NETADDR_LOOPBACK, loopback,
	    NETADDR_MAX_NETS, &nloopback));
}

static struct netaddr
addr(const char *s)
{
	struct netaddr	a;

	assert_int_equal(netaddr_parse(s, &a), 0);
	return (a);
}

/* The client address as a limiter key, for a peer and two headers. */
static const char *
client(const char *peer, const char *real, const char *xff,
    const struct netaddr_net *nets, size_t n)
{
	static char	key[NETADDR_KEY_MAX];
	struct netaddr	p, c;

	p = addr(peer);
	netaddr_client(&p, real, xff, nets, n, &c);
	netaddr_key(&c, key, sizeof(key));
	return (key);
}

static void
test_parse(void **state)
{
	struct netaddr		a;
	struct netaddr_net	n;
	char			key[NETADDR_KEY_MAX];

	assert_int_equal(netaddr_parse("203.0.113.7", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_int_equal(netaddr_parse(" 203.0.113.7 ", &a), 0);
	assert_int_equal(netaddr_parse("2001:db8::1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(netaddr_parse("[2001:db8::1]", &a), 0);
	assert_int_equal(a.family, AF_INET6);

	/* An IPv4-mapped IPv6 peer is the IPv4 address. */
	assert_int_equal(netaddr_parse("::ffff:198.51.100.3", &a), 0);
	assert_int_equal(a.family, AF_INET);
	netaddr_key(&a, key, sizeof(key));
	assert_string_equal(key, "198.51.100.3");

	assert_int_equal(netaddr_parse("", &a), -1);
	assert_int_equal(netaddr_parse("1.2.3", &a), -1);
	assert_int_equal(netaddr_parse("256.1.1.1", &a), -1);
	assert_int_equal(netaddr_parse("example.com", &a), -1);
	assert_int_equal(netaddr_parse("1.2.3.4:80", &a), -1);
	assert_int_equal(netaddr_parse("unknown", &a), -1);
	assert_int_equal(netaddr_parse("[2001:db8::1", &a), -1);
	assert_int_equal(netaddr_parse(NULL, &a), -1);

	assert_int_equal(netaddr_parse_net("10.0.0.0/8", &n), 0);
	assert_int_equal(n.bits, 8);
	assert_int_equal(netaddr_parse_net("10.1.2.3", &n), 0);
	assert_int_equal(n.bits, 32);
	assert_int_equal(netaddr_parse_net("fd00::/8", &n), 0);
	assert_int_equal(netaddr_parse_net("::1", &n), 0);
	assert_int_equal(n.bits, 128);
	assert_int_equal(netaddr_parse_net("10.0.0.0/33", &n), -1);
	assert_int_equal(netaddr_parse_net("10.0.0.0/", &n), -1);
	assert_int_equal(netaddr_parse_net("10.0.0.0/8x", &n), -1);
	assert_int_equal(netaddr_parse_net("fd00::/129", &n), -1);
}

static void
test_list_and_match(void **state)
{
	struct netaddr_net	nets[NETADDR_MAX_NETS];
	struct netaddr		a;
	size_t			n;

	assert_int_equal(netaddr_parse_list("10.0.0.0/8, 192.0.2.1,fd00::/8",
	    nets, NETADDR_MAX_NETS, &n), 0);
	assert_int_equal(n, 3);
	a = addr("10.200.3.4");
	assert_true(netaddr_match(&a, nets, n));
	a = addr("11.0.0.1");
	assert_false(netaddr_match(&a, nets, n));
	a = addr("192.0.2.1");
	assert_true(netaddr_match(&a, nets, n));
	a = addr("192.0.2.2");
	assert_false(netaddr_match(&a, nets, n));
	a = addr("fd12::1");
	assert_true(netaddr_match(&a, nets, n));
	a = addr("fe80::1");
	assert_false(netaddr_match(&a, nets, n));

	/* The default: loopback only, both families. */
	a = addr("127.0.0.1");
	assert_true(netaddr_match(&a, loopback, nloopback));
	a = addr("127.9.9.9");
	assert_true(netaddr_match(&a, loopback, nloopback));
	a = addr("::1");
	assert_true(netaddr_match(&a, loopback, nloopback));
	a = addr("::ffff:127.0.0.1");
	assert_true(netaddr_match(&a, loopback, nloopback));
	a = addr("192.168.1.1");
	assert_false(netaddr_match(&a, loopback, nloopback));

	assert_int_equal(netaddr_parse_list("none", nets, NETADDR_MAX_NETS,
	    &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(netaddr_parse_list("10.0.0.0/8,nonsense", nets,
	    NETADDR_MAX_NETS, &n), -1);
	assert_int_equal(netaddr_parse_list("1.1.1.1,2.2.2.2,3.3.3.3", nets,
	    2, &n), -1);
}

static void
test_client_address(void **state)
{
	struct netaddr_net	nets[NETADDR_MAX_NETS];
	size_t			n;

	/* An untrusted peer's headers are ignored. */
	assert_string_equal(client("198.51.100.9", "1.2.3.4", "5.6.7.8",
	    loopback, nloopback), "198.51.100.9");
	/* The shipped nginx: X-Real-IP is $remote_addr. */
	assert_string_equal(client("127.0.0.1", "203.0.113.5",
	    "6.6.6.6, 203.0.113.5", loopback, nloopback), "203.0.113.5");
	/*
	 * X-Forwarded-For alone: its right end was appended by the trusted
	 * proxy; what the client wrote to its left is not believed.
	 */
	assert_string_equal(client("127.0.0.1", NULL, "6.6.6.6, 203.0.113.5",
	    loopback, nloopback), "203.0.113.5");
	/* Several trusted hops: the first untrusted one from the right. */
	assert_int_equal(netaddr_parse_list("127.0.0.1,10.0.0.0/8", nets,
	    NETADDR_MAX_NETS, &n), 0);
	assert_string_equal(client("127.0.0.1", NULL,
	    "6.6.6.6, 203.0.113.5, 10.1.1.1", nets, n), "203.0.113.5");
	/* Garbage in a header: the last good hop, or the peer. */
	assert_string_equal(client("127.0.0.1", "not-an-ip", "evil, 10.1.1.1",
	    nets, n), "10.1.1.1");
	assert_string_equal(client("127.0.0.1", "not-an-ip", NULL,
	    loopback, nloopback), "127.0.0.1");
	assert_string_equal(client("127.0.0.1", "", "", loopback, nloopback),
	    "127.0.0.1");
	/* No proxy trusted at all. */
	assert_string_equal(client("127.0.0.1", "203.0.113.5", "203.0.113.5",
	    NULL, 0), "127.0.0.1");
}

static void
test_ipv6_key_is_the_64(void **state)
{
	/* One IPv6 host has a /64 to pick addresses from: one budget. */
	assert_string_equal(client("2001:db8:1:2::5", NULL, NULL, NULL, 0),
	    "2001:db8:1:2::/64");
	assert_string_equal(client("2001:db8:1:2:ffff:1:2:3", NULL, NULL,
	    NULL, 0), "2001:db8:1:2::/64");
	assert_string_equal(client("127.0.0.1", "2001:db8:9::1", NULL,
	    loopback, nloopback), "2001:db8:9::/64");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_list_and_match),
		cmocka_unit_test(test_client_address),
		cmocka_unit_test(test_ipv6_key_is_the_64),
	};

	return (cmocka_run_group_tests_name("netaddr", tests, setup, NULL));
}
