/*
 * CORS headers and preflight answers (see cors.h).
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/config.h"
#include "http/cors.h"

int
cors_headers(struct http_request *req)
{
	const char	*origin;

	if (!http_request_header(req, "origin", &origin) ||
	    !config_origin_allowed(origin))
		return (0);

	/* Credentials are allowed, so the origin is echoed, never "*". */
	http_response_header(req, "access-control-allow-origin", origin);
	http_response_header(req, "access-control-allow-credentials", "true");
	http_response_header(req, "vary", "Origin");
	http_response_header(req, "access-control-expose-headers",
	    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
	    "Retry-After");

	return (1);
}

int
cors_preflight(struct http_request *req)
{
	const char	*hdrs;

	if (!cors_headers(req))
		return (0);

	http_response_header(req, "access-control-allow-methods",
	    "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS");
	if (http_request_header(req, "access-control-request-headers", &hdrs))
		http_response_header(req, "access-control-allow-headers", hdrs);
	else
		http_response_header(req, "access-control-allow-headers",
		    "Authorization, Content-Type");
	http_response_header(req, "access-control-max-age", "600");
	http_response(req, 204, NULL, 0);

	return (1);
}
