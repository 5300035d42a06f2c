/*
 * TTL-bounded in-process copies (see memo.h). A table past its cap is
 * emptied rather than managed: at the caps used (tens of thousands of
 * entries) that happens seldom and costs one lookup per entry read again.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "store/memo.h"

struct memo_entry {
	struct memo_entry	*next;
	bson_oid_t		key;
	int64_t			expires;
	size_t			len;
	u_int8_t		val[];
};

static struct memo_entry	**memo_slot(struct memo *, const bson_oid_t *);
static void			memo_drop_all(struct memo *);
static int			memo_copy_out(struct memo *, const bson_oid_t *,
				    void *, bson_t *);
static void			memo_store(struct memo *, const bson_oid_t *,
				    const void *, size_t);

void
memo_init(struct memo *m, size_t valsize, int64_t ttl_ms, size_t cap)
{
	memset(m, 0, sizeof(*m));
	(void)pthread_mutex_init(&m->lock, NULL);
	m->valsize = valsize;
	m->ttl_ms = ttl_ms;
	m->cap = cap;
}

int
memo_get(struct memo *m, const bson_oid_t *key, void *val)
{
	return (memo_copy_out(m, key, val, NULL));
}

int
memo_get_doc(struct memo *m, const bson_oid_t *key, bson_t *doc)
{
	return (memo_copy_out(m, key, NULL, doc));
}

void
memo_put(struct memo *m, const bson_oid_t *key, const void *val)
{
	memo_store(m, key, val, m->valsize);
}

void
memo_put_doc(struct memo *m, const bson_oid_t *key, const bson_t *doc)
{
	memo_store(m, key, bson_get_data(doc), doc->len);
}

static int
memo_copy_out(struct memo *m, const bson_oid_t *key, void *val, bson_t *doc)
{
	struct memo_entry	*e;
	bson_t			stored;
	int			hit;

	hit = 0;
	(void)pthread_mutex_lock(&m->lock);
	for (e = *memo_slot(m, key); e != NULL; e = e->next) {
		if (!bson_oid_equal(&e->key, key))
			continue;
		if (e->expires <= core_now_ms())
			break;
		if (doc == NULL) {
			memcpy(val, e->val, e->len);
			hit = 1;
		} else if (bson_init_static(&stored, e->val, e->len)) {
			bson_copy_to(&stored, doc);
			hit = 1;
		}
		break;
	}
	(void)pthread_mutex_unlock(&m->lock);

	return (hit);
}

static void
memo_store(struct memo *m, const bson_oid_t *key, const void *val,
    size_t len)
{
	struct memo_entry	**head, **p, *e;

	(void)pthread_mutex_lock(&m->lock);
	head = memo_slot(m, key);
	for (p = head; (e = *p) != NULL; p = &e->next) {
		if (bson_oid_equal(&e->key, key)) {
			*p = e->next;
			free(e);
			m->n--;
			break;
		}
	}

	if (m->n >= m->cap) {
		memo_drop_all(m);
		head = memo_slot(m, key);
	}
	if ((e = malloc(sizeof(*e) + len)) == NULL)
		abort();
	bson_oid_copy(key, &e->key);
	e->len = len;
	memcpy(e->val, val, len);
	e->expires = core_now_ms() + m->ttl_ms;
	e->next = *head;
	*head = e;
	m->n++;
	(void)pthread_mutex_unlock(&m->lock);
}

void
memo_forget(struct memo *m, const bson_oid_t *key)
{
	struct memo_entry	**p, *e;

	(void)pthread_mutex_lock(&m->lock);
	for (p = memo_slot(m, key); (e = *p) != NULL; p = &e->next) {
		if (bson_oid_equal(&e->key, key)) {
			*p = e->next;
			free(e);
			m->n--;
			break;
		}
	}
	(void)pthread_mutex_unlock(&m->lock);
}

static struct memo_entry **
memo_slot(struct memo *m, const bson_oid_t *key)
{
	return (&m->slots[bson_oid_hash(key) % MEMO_SLOTS]);
}

static void
memo_drop_all(struct memo *m)
{
	struct memo_entry	*e, *next;
	size_t			i;

	for (i = 0; i < MEMO_SLOTS; i++) {
		for (e = m->slots[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		m->slots[i] = NULL;
	}
	m->n = 0;
}
