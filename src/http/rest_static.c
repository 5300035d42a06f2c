/*
 * Files under assets/ served at / (the demo client and the API docs page).
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

int	static_serve(struct http_request *);
int	upload_serve(struct http_request *);

int
static_serve(struct http_request *req)
{
	static const char	body[] =
	    "{\"statusCode\":404,\"message\":\"Not Found\",\"error\":\"Not Found\"}";

	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response(req, 404, body, sizeof(body) - 1);
	return (KORE_RESULT_OK);
}

int
upload_serve(struct http_request *req)
{
	return (static_serve(req));
}
