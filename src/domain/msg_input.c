/*
 * Message input: the shape of a message a client sends and the content
 * rules of SPEC.md §3 (valid UTF-8 text, controls removed, a length in
 * characters, safe URLs in metadata).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "domain/msg_internal.h"
#include "domain/msg_types.h"
#include "lib/valid.h"
#include "lib/json.h"
#include "lib/jsonbson.h"
#include "lib/text.h"

#define MSG_METADATA_MAX	16384

static int	msg_metadata_urls(struct valid *, yajl_val, const char *, int);

void
msg_input_init(struct msg_input *in)
{
	memset(in, 0, sizeof(*in));
	(void)snprintf(in->type, sizeof(in->type), "text");
}

void
msg_input_free(struct msg_input *in)
{
	free(in->content);
	if (in->metadata != NULL)
		bson_destroy(in->metadata);
	memset(in, 0, sizeof(*in));
}

void
msg_input_parse(struct msg_input *in, yajl_val obj, struct valid *v)
{
	yajl_val	meta, val;
	const char	*type, *cmid, *s;
	const u_int8_t	*data;
	u_int32_t	len;
	bson_t		*doc;
	bson_iter_t	it;
	char		err[160];
	size_t		i;

	if (obj == NULL || !YAJL_IS_OBJECT(obj)) {
		valid_fail(v, "message must be an object");
		return;
	}

	if ((type = valid_string(v, obj, "type", 0, 0, 64)) != NULL &&
	    msg_type_check(v, "type", type, MSG_TYPE_CLIENT) != NULL)
		(void)snprintf(in->type, sizeof(in->type), "%s", type);

	in->has_forward = valid_oid(v, obj, "forwardedFromId", 0,
	    &in->forwarded_from);
	in->has_reply_to = valid_oid(v, obj, "replyToId", 0, &in->reply_to);

	/* A forward copies the original's content: its own is optional. */
	val = json_get(obj, "content");
	if (val == NULL || YAJL_IS_NULL(val)) {
		if (!in->has_forward && json_get(obj, "forwardedFromId") ==
		    NULL)
			valid_fail(v, "content should not be empty");
	} else if (!YAJL_IS_STRING(val)) {
		valid_fail(v, "content must be a string");
	} else if (!in->has_forward) {
		in->content = msg_clean_text(v, "content", val->u.string,
		    cfg.message_max_length, 1);
	}

	if ((meta = valid_object(v, obj, "metadata", 0)) != NULL &&
	    msg_metadata_urls(v, meta, "metadata", 0) == 0) {
		doc = bson_new();
		if (jsonbson_append(doc, "metadata", meta, err,
		    sizeof(err)) == -1) {
			valid_fail(v, "%s", err);
		} else if (doc->len > MSG_METADATA_MAX) {
			valid_fail(v, "metadata must not be larger than %d "
			    "bytes", MSG_METADATA_MAX);
		} else if (bson_iter_init_find(&it, doc, "metadata") &&
		    BSON_ITER_HOLDS_DOCUMENT(&it)) {
			bson_iter_document(&it, &len, &data);
			in->metadata = bson_new_from_data(data, len);
		}
		bson_destroy(doc);
	}

	cmid = valid_string(v, obj, "clientMessageId", 0, 1,
	    MSG_CLIENT_ID_MAX);
	if (cmid != NULL) {
		for (s = cmid, i = 0; *s != '\0'; s++) {
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				i++;
		}
		if (i > 0)
			valid_fail(v, "clientMessageId must not contain "
			    "control characters");
		else
			(void)snprintf(in->client_id, sizeof(in->client_id),
			    "%s", cmid);
	}
}

/*
 * The content rules of SPEC.md §3: valid UTF-8, controls but \n and \t
 * removed, 1..max characters (not bytes). A blank optional text is NULL
 * without a complaint.
 */
char *
msg_clean_text(struct valid *v, const char *key, const char *s, size_t max,
    int required)
{
	char		*out;
	size_t		chars;
	int		blank;

	if (text_clean(s, strlen(s), &out, NULL, &chars, &blank) != TEXT_OK) {
		valid_fail(v, "%s must be valid UTF-8 text", key);
		return (NULL);
	}

	if (blank) {
		if (required)
			valid_fail(v, "%s should not be empty", key);
		free(out);
		return (NULL);
	}

	if (chars > max) {
		valid_fail(v, "%s must be shorter than or equal to %zu "
		    "characters", key, max);
		free(out);
		return (NULL);
	}

	return (out);
}

void
msg_set_content(struct msg_input *in, const char *text)
{
	char		*copy;

	if ((copy = strdup(text)) == NULL)
		abort();
	free(in->content);
	in->content = copy;
}

/*
 * Every URL-like value in metadata must be http(s) or under /upload/
 * (SPEC.md §3): keys ending in "url" (fileUrl, thumbnailUrl, ...) and
 * avatars, at any depth.
 */
static int
msg_metadata_urls(struct valid *v, yajl_val obj, const char *path, int depth)
{
	const char	*key;
	char		sub[160];
	size_t		i, len, bad;
	yajl_val	val;

	bad = 0;
	if (depth > JSONBSON_MAX_DEPTH)
		return (0);

	for (i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++) {
		key = obj->u.object.keys[i];
		val = obj->u.object.values[i];
		len = strlen(key);

		if ((len >= 3 && !strcasecmp(key + len - 3, "url")) ||
		    !strcasecmp(key, "avatar") ||
		    !strcasecmp(key, "groupAvatar")) {
			if (!YAJL_IS_NULL(val) && (!YAJL_IS_STRING(val) ||
			    !valid_is_safe_url(val->u.string))) {
				valid_fail(v, "%s.%s must be an http(s) URL "
				    "or a path under /upload/", path, key);
				bad++;
			}
		} else if (YAJL_IS_OBJECT(val)) {
			(void)snprintf(sub, sizeof(sub), "%s.%s", path, key);
			if (msg_metadata_urls(v, val, sub, depth + 1) != 0)
				bad++;
		}
	}

	return (bad > 0 ? -1 : 0);
}
