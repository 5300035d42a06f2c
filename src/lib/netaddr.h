/*
 * Client addresses: IPv4/IPv6 parsing, networks (CIDR), and which
 * address a request comes from when it reached us through a proxy.
 * Pure C, no Kore.
 */

#ifndef LNK_LIB_NETADDR_H
#define LNK_LIB_NETADDR_H

#include <sys/types.h>

#include <stddef.h>

#define NETADDR_MAX_NETS	16
#define NETADDR_KEY_MAX		64
#define NETADDR_LOOPBACK	"127.0.0.0/8,::1"

struct netaddr {
	int		family;		/* AF_INET, AF_INET6, 0: none */
	u_int8_t	addr[16];
};

struct netaddr_net {
	struct netaddr	addr;
	int		bits;
};

/*
 * One address, as text (IPv6 may be in brackets; no port). IPv4-mapped
 * IPv6 becomes IPv4. 0, or -1 when it is not an address.
 */
int	netaddr_parse(const char *, struct netaddr *);
/* From a socket address's family and its in_addr / in6_addr. */
void	netaddr_set(struct netaddr *, int, const void *);
/* "10.0.0.0/8", "fd00::/8", or one address. */
int	netaddr_parse_net(const char *, struct netaddr_net *);
/* A comma list of networks, or "none". -1 on a bad entry or too many. */
int	netaddr_parse_list(const char *, struct netaddr_net *, size_t,
	    size_t *);
int	netaddr_match(const struct netaddr *, const struct netaddr_net *,
	    size_t);

/*
 * The client of a request from peer with these X-Real-IP and
 * X-Forwarded-For values (NULL when absent). The headers are believed
 * only when peer is in trusted: then X-Real-IP, else the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy (entries to
 * its left were written by the client). Otherwise the peer.
 */
void	netaddr_client(const struct netaddr *, const char *, const char *,
	    const struct netaddr_net *, size_t, struct netaddr *);

/*
 * The address as a rate-limit key: IPv4 as is, IPv6 as its /64 (one
 * host commonly holds a whole /64 to pick addresses from).
 */
void	netaddr_key(const struct netaddr *, char *, size_t);

#endif
