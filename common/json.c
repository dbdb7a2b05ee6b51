/* json.c - the al_json document model and its writer (contracts in json.h). */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static al_json *new_node(al_json_type type)
{
    al_json *v = calloc(1, sizeof *v);
    if (v)
        v->type = type;
    return v;
}

al_json *al_json_null(void) { return new_node(AL_JSON_NULL); }

al_json *al_json_bool(int value)
{
    al_json *v = new_node(AL_JSON_BOOL);
    if (v)
        v->u.boolean = value != 0;
    return v;
}

al_json *al_json_int(int64_t value)
{
    al_json *v = new_node(AL_JSON_INT);
    if (v)
        v->u.integer = value;
    return v;
}

al_json *al_json_string(const char *s)
{
    return s ? al_json_string_len(s, strlen(s)) : al_json_null();
}

/* The copy is NUL-terminated beyond len, so al_json_get_str() can hand it
 * out.  Its bytes live in the node's own allocation, right after it. */
al_json *al_json_string_len(const char *s, size_t len)
{
    if (!s)
        return al_json_null();
    if (len > SIZE_MAX - sizeof(al_json) - 1)
        return NULL;
    al_json *v = malloc(sizeof *v + len + 1);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = AL_JSON_STRING;
    v->u.string.bytes = (char *)(v + 1);
    memcpy(v->u.string.bytes, s, len);
    v->u.string.bytes[len] = '\0';
    v->u.string.len = len;
    return v;
}

al_json *al_json_array(void) { return new_node(AL_JSON_ARRAY); }

/* More than one owner: read-only. */
static int shared(const al_json *v)
{
    return __atomic_load_n(&v->refs, __ATOMIC_ACQUIRE) != 0;
}

al_json *al_json_ref(al_json *v)
{
    if (v)
        __atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
    return v;
}
al_json *al_json_object(void) { return new_node(AL_JSON_OBJECT); }

/* Ensures room for one more element in *items (n used, *cap allocated; the
 * first allocation has room for first); returns 0, or -1 on OOM with *items
 * and *cap unchanged. */
static int reserve(void **items, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap < *cap || ncap > SIZE_MAX / size)
        return -1;
    void *p = realloc(*items, ncap * size);
    if (!p)
        return -1;
    *items = p;
    *cap = ncap;
    return 0;
}

int al_json_append(al_json *array, al_json *value)
{
    if (!array || array->type != AL_JSON_ARRAY || !value || shared(array))
        goto fail;
    void *items = array->u.array.items;
    if (reserve(&items, array->u.array.len, &array->u.array.cap, sizeof(al_json *), 4) < 0)
        goto fail;
    array->u.array.items = items;
    array->u.array.items[array->u.array.len++] = value;
    return 0;
fail:
    al_json_free(value);
    return -1;
}

static long find_key(const al_json *object, const char *key)
{
    for (size_t i = 0; i < object->u.object.len; i++) {
        const char *k = object->u.object.keys[i];
        if (k[0] == key[0] && strcmp(k, key) == 0)
            return (long)i;
    }
    return -1;
}

/* ---- pooled keys ----
 * The member names of the report format are stored once, here: an object
 * key equal to one of them points into key_pool instead of a strdup'd copy
 * (al_json_free frees only keys outside the pool).  Keys are read-only for
 * every user of the model, so the two kinds are indistinguishable. */
static const char key_pool[] =
    "kind\0when\0task\0id\0name\0coro\0state\0origin\0frames\0file\0line\0function\0"
    "suspended_at\0awaiting\0awaited_by\0created_by\0created_before_attach\0"
    "spawned_during_shutdown\0cancel\0requested\0message\0via\0truncated\0native\0"
    "native_truncated\0hybrid\0ip\0symbol\0object\0resource\0type\0tasks\0resources\0"
    "exception\0asyncio_message\0closed_at\0signal\0count\0rule\0t_ms\0"
    "tool\0schema\0pid\0argv\0python\0findings\0summary\0dropped\0suppressions_used\0"
    "pending_task\0orphaned_task\0destroyed_pending_task\0unretrieved_exception\0"
    "swallowed_cancel\0shutdown_hang\0unclosed_resource\0closed_while_in_use\0"
    "signal_exit\0growing_origin\0";

#define POOL_SLOTS 256
static const char *pool_index[POOL_SLOTS];
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static size_t key_hash(const char *key, size_t *len)
{
    uint32_t h = 2166136261u;
    size_t n = 0;
    for (; key[n]; n++)
        h = (h ^ (unsigned char)key[n]) * 16777619u;
    *len = n;
    return (h ^ (h >> 16)) & (POOL_SLOTS - 1);
}

static void pool_build(void)
{
    for (const char *k = key_pool; k < key_pool + sizeof key_pool - 1; k += strlen(k) + 1) {
        size_t len, i = key_hash(k, &len);
        while (pool_index[i])
            i = (i + 1) & (POOL_SLOTS - 1);
        pool_index[i] = k;
    }
}

static int pooled(const char *k)
{
    return k >= key_pool && k < key_pool + sizeof key_pool;
}

/* key itself stored: from the pool, or a copy; NULL on OOM. */
static char *store_key(const char *key)
{
    size_t len, i;

    pthread_once(&pool_once, pool_build);
    for (i = key_hash(key, &len); pool_index[i]; i = (i + 1) & (POOL_SLOTS - 1))
        if (pool_index[i][0] == key[0] && strcmp(pool_index[i], key) == 0)
            return (char *)pool_index[i];
    char *k = malloc(len + 1);
    if (k)
        memcpy(k, key, len + 1);
    return k;
}

static void free_key(char *k)
{
    if (!pooled(k))
        free(k);
}

int al_json_set(al_json *object, const char *key, al_json *value)
{
    if (!object || object->type != AL_JSON_OBJECT || !key || !value || shared(object))
        goto fail;
    long at = find_key(object, key);
    if (at >= 0) {
        if (object->u.object.values[at] != value)
            al_json_free(object->u.object.values[at]);
        object->u.object.values[at] = value;
        return 0;
    }
    size_t n = object->u.object.len;
    char *k = store_key(key);
    if (!k)
        goto fail;
    /* keys and values share cap: grow keys into a copy of it, then values. */
    size_t kcap = object->u.object.cap;
    void *keys = object->u.object.keys, *values = object->u.object.values;
    /* Room for 8 members at once: a finding has 5 to 8. */
    if (reserve(&keys, n, &kcap, sizeof(char *), 8) < 0) {
        free_key(k);
        goto fail;
    }
    object->u.object.keys = keys;     /* may be larger than cap says: harmless */
    if (reserve(&values, n, &object->u.object.cap, sizeof(al_json *), 8) < 0) {
        free_key(k);
        goto fail;
    }
    object->u.object.values = values;
    object->u.object.keys[n] = k;
    object->u.object.values[n] = value;
    object->u.object.len = n + 1;
    return 0;
fail:
    al_json_free(value);
    return -1;
}

int al_json_set_str(al_json *object, const char *key, const char *s)
{
    return al_json_set(object, key, al_json_string(s));
}

int al_json_set_int(al_json *object, const char *key, int64_t value)
{
    return al_json_set(object, key, al_json_int(value));
}

al_json *al_json_get(const al_json *object, const char *key)
{
    if (!object || object->type != AL_JSON_OBJECT || !key)
        return NULL;
    long at = find_key(object, key);
    return at >= 0 ? object->u.object.values[at] : NULL;
}

const char *al_json_get_str(const al_json *object, const char *key)
{
    const al_json *v = al_json_get(object, key);
    return v && v->type == AL_JSON_STRING ? v->u.string.bytes : NULL;
}

int64_t al_json_get_int(const al_json *object, const char *key, int64_t dflt)
{
    const al_json *v = al_json_get(object, key);
    return v && v->type == AL_JSON_INT ? v->u.integer : dflt;
}

size_t al_json_len(const al_json *v)
{
    if (!v)
        return 0;
    if (v->type == AL_JSON_ARRAY)
        return v->u.array.len;
    if (v->type == AL_JSON_OBJECT)
        return v->u.object.len;
    return 0;
}

al_json *al_json_at(const al_json *array, size_t i)
{
    if (!array || array->type != AL_JSON_ARRAY || i >= array->u.array.len)
        return NULL;
    return array->u.array.items[i];
}

al_json *al_json_copy(const al_json *v)
{
    if (!v)
        return NULL;
    al_json *c = NULL;
    switch (v->type) {
    case AL_JSON_NULL: return al_json_null();
    case AL_JSON_BOOL: return al_json_bool(v->u.boolean);
    case AL_JSON_INT: return al_json_int(v->u.integer);
    case AL_JSON_STRING: return al_json_string_len(v->u.string.bytes, v->u.string.len);
    case AL_JSON_ARRAY:
        if (!(c = al_json_array()))
            return NULL;
        for (size_t i = 0; i < v->u.array.len; i++) {
            al_json *item = al_json_copy(v->u.array.items[i]);
            if (!item || al_json_append(c, item) < 0)
                goto oom;
        }
        return c;
    case AL_JSON_OBJECT:
        if (!(c = al_json_object()))
            return NULL;
        for (size_t i = 0; i < v->u.object.len; i++) {
            al_json *item = al_json_copy(v->u.object.values[i]);
            if (!item || al_json_set(c, v->u.object.keys[i], item) < 0)
                goto oom;
        }
        return c;
    }
    return NULL;
oom:
    al_json_free(c);
    return NULL;
}

void al_json_free(al_json *v)
{
    if (!v)
        return;
    /* Drop one owner; only the last one frees. */
    unsigned refs = __atomic_load_n(&v->refs, __ATOMIC_ACQUIRE);
    while (refs != 0)
        if (__atomic_compare_exchange_n(&v->refs, &refs, refs - 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return;
    switch (v->type) {
    case AL_JSON_STRING:
        if (v->u.string.bytes != (char *)(v + 1))
            free(v->u.string.bytes);         /* set by hand, not by al_json_string_len */
        break;
    case AL_JSON_ARRAY:
        for (size_t i = 0; i < v->u.array.len; i++)
            al_json_free(v->u.array.items[i]);
        free(v->u.array.items);
        break;
    case AL_JSON_OBJECT:
        for (size_t i = 0; i < v->u.object.len; i++) {
            free_key(v->u.object.keys[i]);
            al_json_free(v->u.object.values[i]);
        }
        free(v->u.object.keys);
        free(v->u.object.values);
        break;
    default:
        break;
    }
    free(v);
}

/* ---- writer ---- */

/* Output state; err is sticky so callers check it once at the end.  With f,
 * buf stages output for large fwrites; without, buf is the whole output
 * (grown as needed).  memo (compact writes only) holds the serialization of
 * shared subtrees met so far, direct-mapped by address: nodes cannot be
 * freed during one write, so an address names one node throughout. */
typedef struct {
    const al_json *node;
    char *bytes;
    size_t len;
} memo_entry;

#define MEMO_SLOTS 256
#define STAGE_SIZE 65536

typedef struct {
    FILE *f;
    char *buf;
    size_t len, cap;
    int indent;
    int err;
    memo_entry *memo;
} writer;

static void flush_out(writer *w)
{
    if (w->f && w->len) {
        if (!w->err && fwrite(w->buf, 1, w->len, w->f) != w->len)
            w->err = 1;
        w->len = 0;
    }
}

/* Room for n more bytes in a memory writer's buffer; -1 on OOM. */
static int grow_mem(writer *w, size_t n)
{
    size_t ncap = w->cap ? w->cap : 256;
    while (ncap - w->len < n) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    char *p = realloc(w->buf, ncap);
    if (!p)
        return -1;
    w->buf = p;
    w->cap = ncap;
    return 0;
}

static void put_slow(writer *w, const char *s, size_t n)
{
    if (w->err || n == 0)
        return;
    if (w->cap - w->len < n) {
        if (w->f) {
            flush_out(w);
            if (n > w->cap) {
                if (!w->err && fwrite(s, 1, n, w->f) != n)
                    w->err = 1;
                return;
            }
        } else if (grow_mem(w, n) < 0) {
            errno = ENOMEM;
            w->err = 1;
            return;
        }
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* After an error, output may still land in buf: it is never written. */
static inline void put(writer *w, const char *s, size_t n)
{
    if (n <= w->cap - w->len) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    } else {
        put_slow(w, s, n);
    }
}

static void puts_(writer *w, const char *s) { put(w, s, strlen(s)); }

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 when it is not
 * one; *bad then gets the length of its maximal valid prefix (at least 1),
 * which becomes a single U+FFFD (the Unicode "maximal subpart" practice). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;   /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        if (c == 0xED) hi = 0x9F;      /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        if (c == 0xF4) hi = 0x8F;      /* beyond U+10FFFF */
    } else {
        *bad = 1;                      /* stray continuation, C0, C1, F5..FF */
        return 0;
    }
    size_t i = 1;
    for (; i < need && i < n; i++) {
        unsigned char b = s[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            break;
    }
    if (i == need)
        return need;
    *bad = i;
    return 0;
}

/* What a byte needs in a JSON string: 0 nothing, 1 an escape, 2 a UTF-8
 * check (>= 0x80). */
static const unsigned char byte_class[256] = {
    [0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x7f] = 1,
    [0x80 ... 0xff] = 2,
};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* True when a byte of x may be < 0x20, '"', '\\' or >= 0x7f. */
static inline int needs_look(uint64_t x)
{
    uint64_t quote = x ^ (ONES * '"'), bslash = x ^ (ONES * '\\');
    uint64_t t = (x - ONES * 0x20) & ~x;                 /* < 0x20 */
    t |= (quote - ONES) & ~quote;                       /* == '"' */
    t |= (bslash - ONES) & ~bslash;                     /* == '\\' */
    t |= (x + ONES) | x;                                /* >= 0x7f */
    return (t & HIGHS) != 0;
}

static void write_string(writer *w, const char *bytes, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)bytes;
    size_t start = 0, i = 0;               /* s[start..i) passes through */
    put(w, "\"", 1);
    /* Most strings need nothing: checked a word at a time, the tail padded
     * with blanks. */
    while (i + 8 <= len) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (needs_look(x))
            break;
        i += 8;
    }
    if (i < len && len - i < 8) {
        uint64_t x = ONES * ' ';
        memcpy(&x, s + i, len - i);
        if (!needs_look(x))
            i = len;
    }
    while (i < len) {
        /* Eight bytes at a time while none needs a look (a false alarm
         * only sends that word through the byte loop). */
        while (i + 8 <= len) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (needs_look(x))
                break;
            i += 8;
        }
        if (i == len)
            break;
        unsigned char c = s[i];
        unsigned cls = byte_class[c];
        char esc[6];
        size_t elen = 2, adv = 1;
        if (cls == 0) {
            i++;
            continue;
        }
        if (cls == 2) {
            size_t bad = 0, ok = utf8_seq(s + i, len - i, &bad);
            if (ok) {
                i += ok;
                continue;
            }
            memcpy(esc, "\xEF\xBF\xBD", 3);
            elen = 3;
            adv = bad;
        } else {
            esc[0] = '\\';
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\n': esc[1] = 'n'; break;
            case '\t': esc[1] = 't'; break;
            case '\r': esc[1] = 'r'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                elen = 6;
            }
        }
        put(w, (const char *)s + start, i - start);
        put(w, esc, elen);
        i += adv;
        start = i;
    }
    put(w, (const char *)s + start, len - start);
    put(w, "\"", 1);
}

char *al_int_decimal(int64_t v, char *end)
{
    char *p = end;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return p;
}

static void write_int(writer *w, int64_t v)
{
    char buf[AL_INT_DECIMAL_MAX];
    char *p = al_int_decimal(v, buf + sizeof buf);
    put(w, p, (size_t)(buf + sizeof buf - p));
}

static void newline(writer *w, int depth)
{
    static const char spaces[] = "                                ";
    if (w->indent < 0)
        return;
    put(w, "\n", 1);
    for (size_t left = (size_t)w->indent * (size_t)depth; left && !w->err;) {
        size_t n = left < sizeof spaces - 1 ? left : sizeof spaces - 1;
        put(w, spaces, n);
        left -= n;
    }
}

static void write_value(writer *w, const al_json *v, int depth);

static void write_plain(writer *w, const al_json *v, int depth)
{
    switch (v->type) {
    case AL_JSON_NULL: put(w, "null", 4); break;
    case AL_JSON_BOOL: puts_(w, v->u.boolean ? "true" : "false"); break;
    case AL_JSON_INT: write_int(w, v->u.integer); break;
    case AL_JSON_STRING: write_string(w, v->u.string.bytes, v->u.string.len); break;
    case AL_JSON_ARRAY:
        put(w, "[", 1);
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i)
                put(w, ",", 1);
            newline(w, depth + 1);
            write_value(w, v->u.array.items[i], depth + 1);
        }
        if (v->u.array.len)
            newline(w, depth);
        put(w, "]", 1);
        break;
    case AL_JSON_OBJECT:
        put(w, "{", 1);
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (i)
                put(w, ",", 1);
            newline(w, depth + 1);
            const char *k = v->u.object.keys[i];
            if (pooled(k)) {
                /* A member name of the report format: plain ASCII. */
                put(w, "\"", 1);
                put(w, k, strlen(k));
                put(w, "\"", 1);
            } else {
                write_string(w, k, strlen(k));
            }
            if (w->indent < 0)
                put(w, ":", 1);
            else
                put(w, ": ", 2);
            write_value(w, v->u.object.values[i], depth + 1);
        }
        if (v->u.object.len)
            newline(w, depth);
        put(w, "}", 1);
        break;
    }
}

/* A shared array or object in a compact write: serialized once into the
 * memo, copied from there when met again. */
static void write_shared(writer *w, const al_json *v)
{
    if (!w->memo && !(w->memo = calloc(MEMO_SLOTS, sizeof *w->memo))) {
        write_plain(w, v, 0);
        return;
    }
    memo_entry *e = &w->memo[(((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15ull) >> 56];
    if (e->node == v) {
        put(w, e->bytes, e->len);
        return;
    }
    writer sub = { NULL, NULL, 0, 0, -1, 0, w->memo };
    write_plain(&sub, v, 0);
    if (sub.err) {
        free(sub.buf);
        write_plain(w, v, 0);
        return;
    }
    put(w, sub.buf, sub.len);
    /* Nested shared nodes may have taken this entry meanwhile: replace. */
    free(e->bytes);
    e->node = v;
    e->bytes = sub.buf;
    e->len = sub.len;
}

static void write_value(writer *w, const al_json *v, int depth)
{
    if (!v) {
        put(w, "null", 4);
        return;
    }
    if (w->indent < 0 && (v->type == AL_JSON_ARRAY || v->type == AL_JSON_OBJECT)
        && __atomic_load_n(&v->refs, __ATOMIC_RELAXED) != 0) {
        write_shared(w, v);
        return;
    }
    write_plain(w, v, depth);
}

static void memo_free(memo_entry *memo)
{
    if (!memo)
        return;
    for (size_t i = 0; i < MEMO_SLOTS; i++)
        free(memo[i].bytes);
    free(memo);
}

/* Writes no trailing newline.  A NULL v is written as null. */
int al_json_write(const al_json *v, FILE *out, int indent)
{
    if (!out) {
        errno = EINVAL;
        return -1;
    }
    char small[512];
    char *stage = malloc(STAGE_SIZE);
    writer w = { out, stage ? stage : small, 0, stage ? STAGE_SIZE : sizeof small, indent, 0, NULL };
    int saved = errno;
    errno = 0;
    write_value(&w, v, 0);
    flush_out(&w);
    memo_free(w.memo);
    free(stage);
    if (w.err) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    errno = saved;
    return 0;
}

char *al_json_dumps(const al_json *v, int indent)
{
    writer w = { NULL, NULL, 0, 0, indent, 0, NULL };
    write_value(&w, v, 0);
    put(&w, "", 1);                    /* the terminating NUL */
    memo_free(w.memo);
    if (w.err) {
        free(w.buf);
        return NULL;
    }
    return w.buf;
}
