/*
 * The dependencies' health: the database (required) and Redis
 * (optional), each pinged with its latency and where it is. Task
 * thread (the pings block, briefly).
 */

#ifndef LNK_DOMAIN_HEALTH_H
#define LNK_DOMAIN_HEALTH_H

#include <sys/types.h>
#include <stdint.h>

#define HEALTH_DB	0x01
#define HEALTH_REDIS	0x02
#define HEALTH_MAX	2

struct health_check {
	const char	*name;		/* "mongodb", "redis" */
	int		required;	/* down: the service is too (503) */
	int		up;
	int64_t		ms;
	char		host[256];
	u_int16_t	port;
	const char	*database;	/* mongodb's name, else NULL */
};

/* Pings what which names, database first; returns how many in checks. */
int	health_ping(int, struct health_check *);

#endif
