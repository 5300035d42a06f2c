/*
 * The caller's service packages (users.servicePackages), which
 * service-offer and booking-request messages refer to. See domain.h for
 * the conventions; out gets {"packages": [...]} or {"package": {...}}.
 */

#ifndef LNK_DOMAIN_PACKAGES_H
#define LNK_DOMAIN_PACKAGES_H

#include <sys/types.h>

#include "domain/caller.h"

#define PACKAGE_SERVICES_MAX	6

struct json;

/* A package's fields, validated by the adapter: NULL or has_ 0 absent. */
struct package_fields {
	const char	*title;
	const char	*services[PACKAGE_SERVICES_MAX];
	size_t		nservices;
	int		has_services;
	int		has_price;
	double		price;
	const char	*currency;
	const char	*duration;
	const char	*description;
	int		has_active;
	int		active;
};

int	package_list(const struct dom_caller *, struct json *, char *, size_t);
/* 201; currency defaults to FCFA, isActive to true. */
int	package_create(const struct dom_caller *, const struct package_fields *,
	    struct json *, char *, size_t);
/* Sets the fields present: 200, 404 "Package not found". */
int	package_update(const struct dom_caller *, const char *,
	    const struct package_fields *, struct json *, char *, size_t);
/* 200 (nothing in out), 404 "Package not found". */
int	package_delete(const struct dom_caller *, const char *, char *,
	    size_t);

#endif
