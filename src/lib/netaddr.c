/*
 * Client addresses (see netaddr.h).
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/netaddr.h"

#define NETADDR_TEXT_MAX	64

static int	netaddr_span(const char *, size_t, struct netaddr *);
static int	netaddr_len(int);

int
netaddr_parse(const char *s, struct netaddr *a)
{
	if (s == NULL)
		return (-1);

	return (netaddr_span(s, strlen(s), a));
}

void
netaddr_set(struct netaddr *a, int family, const void *raw)
{
	static const u_int8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->addr, raw, 4);
	} else if (family == AF_INET6) {
		/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d. */
		if (!memcmp(raw, mapped, sizeof(mapped))) {
			a->family = AF_INET;
			memcpy(a->addr, (const u_int8_t *)raw + 12, 4);
		} else {
			a->family = AF_INET6;
			memcpy(a->addr, raw, 16);
		}
	}
}

int
netaddr_parse_net(const char *s, struct netaddr_net *n)
{
	const char	*slash;
	char		*ep;
	long		bits;

	if ((slash = strchr(s, '/')) == NULL) {
		if (netaddr_parse(s, &n->addr) == -1)
			return (-1);
		n->bits = netaddr_len(n->addr.family) * 8;
		return (0);
	}

	if (netaddr_span(s, (size_t)(slash - s), &n->addr) == -1)
		return (-1);
	if (!isdigit((unsigned char)slash[1]))
		return (-1);
	bits = strtol(slash + 1, &ep, 10);
	if (*ep != '\0' || bits < 0 || bits > netaddr_len(n->addr.family) * 8)
		return (-1);
	n->bits = (int)bits;

	return (0);
}

int
netaddr_parse_list(const char *s, struct netaddr_net *nets, size_t max,
    size_t *count)
{
	char		*copy, *p, *tok;
	int		ret;

	*count = 0;
	if (!strcmp(s, "none"))
		return (0);
	if ((copy = strdup(s)) == NULL)
		return (-1);

	ret = 0;
	p = copy;
	while (ret == 0 && (tok = strsep(&p, ",")) != NULL) {
		while (*tok == ' ')
			tok++;
		tok[strcspn(tok, " ")] = '\0';
		if (*tok == '\0')
			continue;
		if (*count == max ||
		    netaddr_parse_net(tok, &nets[*count]) == -1)
			ret = -1;
		else
			(*count)++;
	}

	free(copy);
	return (ret);
}

int
netaddr_match(const struct netaddr *a, const struct netaddr_net *nets,
    size_t n)
{
	const struct netaddr_net	*net;
	size_t				i;
	int				full, rest;

	for (i = 0; i < n; i++) {
		net = &nets[i];
		if (a->family == 0 || net->addr.family != a->family)
			continue;
		full = net->bits / 8;
		rest = net->bits % 8;
		if (memcmp(a->addr, net->addr.addr, (size_t)full))
			continue;
		if (rest != 0 && ((a->addr[full] ^ net->addr.addr[full]) &
		    (0xff << (8 - rest)) & 0xff))
			continue;
		return (1);
	}

	return (0);
}

void
netaddr_client(const struct netaddr *peer, const char *real_ip,
    const char *forwarded, const struct netaddr_net *trusted, size_t n,
    struct netaddr *out)
{
	struct netaddr	hop;
	const char	*end, *start;

	*out = *peer;
	if (!netaddr_match(peer, trusted, n))
		return;

	if (netaddr_parse(real_ip, &hop) == 0) {
		*out = hop;
		return;
	}
	if (forwarded == NULL)
		return;

	/* From the right: each hop is believed while the one after it is. */
	end = forwarded + strlen(forwarded);
	while (end > forwarded) {
		start = end;
		while (start > forwarded && start[-1] != ',')
			start--;
		if (netaddr_span(start, (size_t)(end - start), &hop) == -1)
			return;
		*out = hop;
		if (!netaddr_match(&hop, trusted, n))
			return;
		end = start > forwarded ? start - 1 : start;
	}
}

void
netaddr_key(const struct netaddr *a, char *out, size_t outlen)
{
	u_int8_t	prefix[16];
	char		text[NETADDR_TEXT_MAX];

	if (a->family == AF_INET &&
	    inet_ntop(AF_INET, a->addr, text, sizeof(text)) != NULL) {
		(void)snprintf(out, outlen, "%s", text);
		return;
	}
	if (a->family == AF_INET6) {
		memcpy(prefix, a->addr, 8);
		memset(prefix + 8, 0, 8);
		if (inet_ntop(AF_INET6, prefix, text, sizeof(text)) != NULL) {
			(void)snprintf(out, outlen, "%s/64", text);
			return;
		}
	}

	/* A unix socket: one local client. */
	(void)snprintf(out, outlen, "local");
}

/* len bytes of s, blanks around it trimmed, IPv6 maybe in brackets. */
static int
netaddr_span(const char *s, size_t len, struct netaddr *a)
{
	char		text[NETADDR_TEXT_MAX];
	u_int8_t	raw[16];

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && s[0] == '[') {
		if (s[len - 1] != ']')
			return (-1);
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(text))
		return (-1);
	memcpy(text, s, len);
	text[len] = '\0';

	if (inet_pton(AF_INET, text, raw) == 1) {
		netaddr_set(a, AF_INET, raw);
		return (0);
	}
	if (inet_pton(AF_INET6, text, raw) == 1) {
		netaddr_set(a, AF_INET6, raw);
		return (0);
	}

	return (-1);
}

static int
netaddr_len(int family)
{
	return (family == AF_INET ? 4 : 16);
}
