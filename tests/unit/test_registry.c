// links: preload/registry.c
/* test_registry.c - unit tests of preload/registry.c: the open-addressing
 * table (Robin Hood linear probing, backward-shift deletion, load at most
 * 7/8, growth by half, shrinking) of live tracked tasks.
 *
 * The tests use only the public API and the public struct fields; where a
 * test needs the home slot of a key it learns it from the table itself (the
 * slot a key lands in when it is alone in a fresh 64-slot table), so they do
 * not depend on the hash function. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static al_registry g_r;

static int setup(void **state)
{
    al_registry_init(&g_r);
    return 0;
}

static int teardown(void **state)
{
    al_registry_free(&g_r);
    return 0;
}

/* 16-byte aligned fake object addresses (never dereferenced). */
#define BASE ((uintptr_t)0x7f3a12340000ull)
static const void *addr(uintptr_t i)
{
    return (const void *)(BASE + i * 16);
}

static al_task_rec mk(const void *task, uint64_t serial, uint32_t origin, uint32_t flags)
{
    al_task_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.task = task;
    rec.serial = serial;
    rec.creator_serial = origin * 3ull + 1;
    rec.origin = origin;
    rec.native = origin ^ 0x5a5a;
    rec.flags = flags;
    return rec;
}

/* Same payload fields (serial checked separately). */
static void assert_payload(const al_task_rec *got, const al_task_rec *want)
{
    assert_non_null(got);
    assert_ptr_equal(got->task, want->task);
    assert_int_equal(got->creator_serial, want->creator_serial);
    assert_int_equal(got->origin, want->origin);
    assert_int_equal(got->native, want->native);
    assert_int_equal(got->flags, want->flags);
}

/* Deterministic PRNG (xorshift64*). */
static uint64_t g_rng;
static uint64_t rnd(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}

/* ------------------------------------------------------------------ */

static void test_init_empty(void **state)
{
    assert_int_equal(g_r.count, 0);
    assert_int_equal(g_r.capacity, 0);
    assert_null(g_r.slots);
    assert_int_equal(g_r.next_serial, 1);
    assert_null(al_registry_get(&g_r, addr(1)));
    assert_int_equal(al_registry_remove(&g_r, addr(1)), 0);
    assert_int_equal(g_r.count, 0);
}

static void test_put_get_remove_single(void **state)
{
    al_task_rec in = mk(addr(7), 0, 42, AL_TASK_BEFORE_ATTACH);
    al_task_rec *p = al_registry_put(&g_r, &in);

    assert_non_null(p);
    assert_payload(p, &in);
    assert_int_equal(p->serial, 1);
    assert_int_equal(g_r.count, 1);
    assert_int_equal(g_r.capacity, 64);
    assert_int_equal(sizeof(al_task_rec), 32);
    /* the input is not modified */
    assert_int_equal(in.serial, 0);

    al_task_rec *g = al_registry_get(&g_r, addr(7));
    assert_ptr_equal(g, p);
    assert_payload(g, &in);
    assert_int_equal(g->serial, 1);

    /* neighbours (other aligned addresses, the same address +1) are absent */
    assert_null(al_registry_get(&g_r, addr(6)));
    assert_null(al_registry_get(&g_r, addr(8)));
    assert_null(al_registry_get(&g_r, (const char *)addr(7) + 1));

    assert_int_equal(al_registry_remove(&g_r, addr(7)), 1);
    assert_int_equal(g_r.count, 0);
    assert_null(al_registry_get(&g_r, addr(7)));
    assert_int_equal(al_registry_remove(&g_r, addr(7)), 0);
    assert_int_equal(g_r.count, 0);

    /* the record can come back, with a new serial */
    p = al_registry_put(&g_r, &in);
    assert_non_null(p);
    assert_int_equal(p->serial, 2);
    assert_int_equal(g_r.count, 1);
}

static void test_remove_absent(void **state)
{
    for (uintptr_t i = 0; i < 10; i++) {
        al_task_rec in = mk(addr(i * 2), 0, 0, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    for (uintptr_t i = 0; i < 10; i++)
        assert_int_equal(al_registry_remove(&g_r, addr(i * 2 + 1)), 0);
    assert_int_equal(al_registry_remove(&g_r, NULL), 0);
    assert_int_equal(g_r.count, 10);
    for (uintptr_t i = 0; i < 10; i++)
        assert_non_null(al_registry_get(&g_r, addr(i * 2)));
}

static void test_null_task_rejected(void **state)
{
    al_task_rec in = mk(NULL, 0, 1, 0);

    assert_null(al_registry_put(&g_r, &in));
    assert_int_equal(g_r.count, 0);
    assert_int_equal(g_r.next_serial, 1);
    assert_null(al_registry_get(&g_r, NULL));

    /* also once the table exists */
    al_task_rec ok = mk(addr(1), 0, 1, 0);
    assert_non_null(al_registry_put(&g_r, &ok));
    assert_null(al_registry_put(&g_r, &in));
    assert_null(al_registry_get(&g_r, NULL));
    assert_int_equal(al_registry_remove(&g_r, NULL), 0);
    assert_int_equal(g_r.count, 1);
    assert_int_equal(g_r.next_serial, 2);
    /* no slot holds a NULL key record counted as live */
    size_t live = 0;
    for (size_t i = 0; i < g_r.capacity; i++)
        live += g_r.slots[i].task != NULL;
    assert_int_equal(live, 1);
}

static void test_replace(void **state)
{
    al_task_rec a = mk(addr(100), 0, 1, 0);
    al_task_rec b = mk(addr(200), 0, 2, 0);

    assert_int_equal(al_registry_put(&g_r, &a)->serial, 1);
    assert_int_equal(al_registry_put(&g_r, &b)->serial, 2);

    /* replacing with serial 0: one record, new payload, fresh serial */
    al_task_rec a2 = mk(addr(100), 0, 77, AL_TASK_REPORTED);
    a2.native = 999;
    al_task_rec *p = al_registry_put(&g_r, &a2);
    assert_non_null(p);
    assert_int_equal(g_r.count, 2);
    assert_payload(p, &a2);
    assert_int_equal(p->serial, 3);
    assert_ptr_equal(al_registry_get(&g_r, addr(100)), p);

    /* replacing with an explicit serial keeps it and consumes none */
    al_task_rec a3 = mk(addr(100), 2, 78, AL_TASK_DYING);
    p = al_registry_put(&g_r, &a3);
    assert_non_null(p);
    assert_int_equal(g_r.count, 2);
    assert_payload(p, &a3);
    assert_int_equal(p->serial, 2);
    assert_int_equal(g_r.next_serial, 4);

    /* copy-modify-put (what the hooks do to set a flag) keeps the serial */
    al_task_rec cur = *al_registry_get(&g_r, addr(200));
    cur.flags |= AL_TASK_REPORTED;
    p = al_registry_put(&g_r, &cur);
    assert_int_equal(p->serial, 2);
    assert_int_equal(p->flags, AL_TASK_REPORTED);
    assert_int_equal(g_r.count, 2);

    /* the next new record continues the sequence */
    al_task_rec c = mk(addr(300), 0, 3, 0);
    assert_int_equal(al_registry_put(&g_r, &c)->serial, 4);
    assert_int_equal(g_r.count, 3);

    /* exactly one slot per key */
    size_t n100 = 0;
    for (size_t i = 0; i < g_r.capacity; i++)
        n100 += g_r.slots[i].task == addr(100);
    assert_int_equal(n100, 1);
}

static void test_new_record_with_explicit_serial(void **state)
{
    al_task_rec a = mk(addr(1), 1000, 0, 0);
    al_task_rec *p = al_registry_put(&g_r, &a);
    assert_int_equal(p->serial, 1000);
    assert_int_equal(g_r.next_serial, 1);
    al_task_rec b = mk(addr(2), 0, 0, 0);
    assert_int_equal(al_registry_put(&g_r, &b)->serial, 1);
}

static void test_serials_in_creation_order(void **state)
{
    enum { N = 1000 };
    /* creation order differs from address order */
    for (uint64_t i = 0; i < N; i++) {
        uintptr_t k = (uintptr_t)((i * 7919) % N);
        al_task_rec in = mk(addr(k), 0, (uint32_t)i, 0);
        al_task_rec *p = al_registry_put(&g_r, &in);
        assert_non_null(p);
        assert_int_equal(p->serial, i + 1);
    }
    for (uint64_t i = 0; i < N; i++) {
        uintptr_t k = (uintptr_t)((i * 7919) % N);
        al_task_rec *p = al_registry_get(&g_r, addr(k));
        assert_non_null(p);
        assert_int_equal(p->serial, i + 1);
        assert_int_equal(p->origin, (uint32_t)i);
    }
    assert_int_equal(g_r.next_serial, N + 1);
}

static void test_growth_100k(void **state)
{
    enum { N = 100000 };
    size_t last_cap = 0, resizes = 0;

    for (uintptr_t i = 0; i < N; i++) {
        /* half dense, half scattered addresses */
        const void *k = (i & 1) ? addr(i) : addr(0x100000 + i * 1021);
        al_task_rec in = mk(k, 0, (uint32_t)i, (uint32_t)(i & 15));
        al_task_rec *p = al_registry_put(&g_r, &in);
        assert_non_null(p);
        assert_int_equal(p->serial, (uint64_t)i + 1);
        assert_int_equal(g_r.count, i + 1);
        if (g_r.capacity != last_cap) {
            resizes++;
            /* grows by half, not doubling */
            if (last_cap != 0)
                assert_int_equal(g_r.capacity, last_cap + last_cap / 2);
            last_cap = g_r.capacity;
        }
        assert_true(g_r.count * 8 <= g_r.capacity * 7);
        /* past the 64-slot minimum: at most 55 bytes of table per record */
        if (g_r.count > 56)
            assert_true(g_r.capacity * sizeof(al_task_rec) <= g_r.count * 55);
    }
    assert_true(resizes >= 10);
    for (uintptr_t i = 0; i < N; i++) {
        const void *k = (i & 1) ? addr(i) : addr(0x100000 + i * 1021);
        al_task_rec want = mk(k, 0, (uint32_t)i, (uint32_t)(i & 15));
        al_task_rec *p = al_registry_get(&g_r, k);
        assert_payload(p, &want);
        assert_int_equal(p->serial, (uint64_t)i + 1);
    }
    /* keys never inserted */
    for (uintptr_t i = 0; i < 1000; i++)
        assert_null(al_registry_get(&g_r, addr(0x100000 + i * 1021 + 1)));

    /* remove every other, then the rest */
    for (uintptr_t i = 0; i < N; i += 2)
        assert_int_equal(al_registry_remove(&g_r, addr(0x100000 + i * 1021)), 1);
    assert_int_equal(g_r.count, N / 2);
    for (uintptr_t i = 0; i < N; i++) {
        const void *k = (i & 1) ? addr(i) : addr(0x100000 + i * 1021);
        if (i & 1)
            assert_non_null(al_registry_get(&g_r, k));
        else
            assert_null(al_registry_get(&g_r, k));
    }
    for (uintptr_t i = 1; i < N; i += 2)
        assert_int_equal(al_registry_remove(&g_r, addr(i)), 1);
    assert_int_equal(g_r.count, 0);
    for (size_t i = 0; i < g_r.capacity; i++)
        assert_null(g_r.slots[i].task);
}

/* ------------------------------------------------------------------ */
/* Randomized differential test against a trivial reference. */

/* Home slot of key in a table of 64 slots: where it lands alone. */
static size_t home64(const void *key)
{
    al_registry t;
    al_registry_init(&t);
    al_task_rec in = mk(key, 0, 0, 0);
    al_task_rec *p = al_registry_put(&t, &in);
    assert_non_null(p);
    assert_int_equal(t.capacity, 64);
    size_t h = (size_t)(p - t.slots);
    al_registry_free(&t);
    return h;
}

/* Is the occupied slot p part of a run that crosses the end of the table? */
static int in_wrapping_cluster(const al_registry *r, size_t p)
{
    size_t cap = r->capacity, i;
    for (i = p; r->slots[i].task != NULL; i = (i + 1) % cap)
        if (i == cap - 1)
            return 1;
    for (i = p; r->slots[i].task != NULL; i = (i + cap - 1) % cap)
        if (i == 0)
            return 1;
    return 0;
}

typedef struct ref {
    size_t n;
    const void **keys;
    size_t *home;        /* home slot at capacity 64, or NULL */
    int *present;
    al_task_rec *rec;
    size_t count;
    uint64_t next_serial;
} ref;

static void check_all(const ref *m, uint64_t seed, long op)
{
    if (g_r.count != m->count)
        fail_msg("seed %llu op %ld: count %zu, expected %zu",
                 (unsigned long long)seed, op, g_r.count, m->count);
    for (size_t k = 0; k < m->n; k++) {
        al_task_rec *p = al_registry_get(&g_r, m->keys[k]);
        if (!m->present[k]) {
            if (p != NULL)
                fail_msg("seed %llu op %ld: removed key %zu still found",
                         (unsigned long long)seed, op, k);
            continue;
        }
        if (p == NULL)
            fail_msg("seed %llu op %ld: key %zu (%p) lost", (unsigned long long)seed, op, k,
                     m->keys[k]);
        assert_payload(p, &m->rec[k]);
        assert_int_equal(p->serial, m->rec[k].serial);
    }
    /* table-wide invariants */
    size_t live = 0;
    for (size_t i = 0; i < g_r.capacity; i++) {
        if (g_r.slots[i].task == NULL)
            continue;
        live++;
    }
    assert_int_equal(live, m->count);
    if (m->home != NULL && g_r.capacity == 64) {
        /* every probe chain is unbroken: no empty slot between a key's home and it */
        for (size_t k = 0; k < m->n; k++) {
            if (!m->present[k])
                continue;
            size_t at = (size_t)(al_registry_get(&g_r, m->keys[k]) - g_r.slots);
            for (size_t i = m->home[k]; i != at; i = (i + 1) & 63)
                if (g_r.slots[i].task == NULL)
                    fail_msg("seed %llu op %ld: hole at %zu between home %zu and slot %zu",
                             (unsigned long long)seed, op, i, m->home[k], at);
        }
        /* Robin Hood order: along a run, each record is at most one slot
         * further from its home than the record before it. */
        for (size_t i = 0; i < 64; i++) {
            size_t j = (i + 1) & 63, ki = m->n, kj = m->n;
            if (g_r.slots[i].task == NULL || g_r.slots[j].task == NULL)
                continue;
            for (size_t k = 0; k < m->n; k++) {
                if (m->keys[k] == g_r.slots[i].task)
                    ki = k;
                if (m->keys[k] == g_r.slots[j].task)
                    kj = k;
            }
            assert_true(ki < m->n && kj < m->n);
            size_t di = (i - m->home[ki]) & 63, dj = (j - m->home[kj]) & 63;
            if (dj > di + 1)
                fail_msg("seed %llu op %ld: slot %zu is %zu from home after a record %zu from home",
                         (unsigned long long)seed, op, j, dj, di);
        }
    }
}

/* Runs ops random operations; returns the number of removals performed in a
 * cluster wrapping around the end of the table. */
static long run_random(ref *m, uint64_t seed, long ops, long batch)
{
    long wrapped_removes = 0;
    g_rng = seed;
    for (long op = 0; op < ops; op++) {
        size_t k = (size_t)(rnd() % m->n);
        unsigned what = (unsigned)(rnd() % 16);
        if (what < 7) {
            uint64_t serial = 0;
            if (m->present[k] && what == 0)
                serial = m->rec[k].serial;      /* copy-modify-put */
            al_task_rec in = mk(m->keys[k], serial, (uint32_t)rnd(), (uint32_t)rnd() & 15);
            in.native = (uint32_t)rnd();
            al_task_rec *p = al_registry_put(&g_r, &in);
            assert_non_null(p);
            if (serial == 0)
                serial = m->next_serial++;
            if (!m->present[k])
                m->count++;
            m->present[k] = 1;
            m->rec[k] = in;
            m->rec[k].serial = serial;
            assert_payload(p, &m->rec[k]);
            assert_int_equal(p->serial, serial);
            assert_ptr_equal(al_registry_get(&g_r, m->keys[k]), p);
        } else if (what < 14) {
            if (m->present[k]) {
                al_task_rec *p = al_registry_get(&g_r, m->keys[k]);
                assert_non_null(p);
                if (in_wrapping_cluster(&g_r, (size_t)(p - g_r.slots)))
                    wrapped_removes++;
            }
            int got = al_registry_remove(&g_r, m->keys[k]);
            if (got != m->present[k])
                fail_msg("seed %llu op %ld: remove(key %zu) = %d, expected %d",
                         (unsigned long long)seed, op, k, got, m->present[k]);
            if (m->present[k])
                m->count--;
            m->present[k] = 0;
            assert_null(al_registry_get(&g_r, m->keys[k]));
        } else {
            al_task_rec *p = al_registry_get(&g_r, m->keys[k]);
            if (m->present[k]) {
                assert_payload(p, &m->rec[k]);
                assert_int_equal(p->serial, m->rec[k].serial);
            } else {
                assert_null(p);
            }
        }
        assert_int_equal(g_r.count, m->count);
        if ((op + 1) % batch == 0)
            check_all(m, seed, op);
    }
    check_all(m, seed, ops);
    return wrapped_removes;
}

static void ref_alloc(ref *m, size_t n)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->keys = calloc(n, sizeof *m->keys);
    m->present = calloc(n, sizeof *m->present);
    m->rec = calloc(n, sizeof *m->rec);
    m->next_serial = 1;
    assert_non_null(m->keys);
    assert_non_null(m->present);
    assert_non_null(m->rec);
}

static void ref_free(ref *m)
{
    free(m->keys);
    free(m->home);
    free(m->present);
    free(m->rec);
}

/* A pool of 48 keys at up to 75% load of a 64-slot table (it never resizes),
 * chosen so that most of them hash to the last and first slots: long clusters
 * wrap around the end of the table and most removals shift across it. */
static void test_random_wraparound(void **state)
{
    enum { P = 48 };
    ref m;
    size_t nend = 0, nstart = 0, nother = 0;

    ref_alloc(&m, P);
    m.home = calloc(P, sizeof *m.home);
    assert_non_null(m.home);
    for (uintptr_t j = 1; nend + nstart + nother < P; j++) {
        assert_true(j < 1000000);
        const void *k = (const void *)(BASE + 0x10000000 + j * 16);
        size_t h = home64(k);
        size_t at;
        if (h >= 56 && nend < 24)
            at = nend++;
        else if (h < 4 && nstart < 8)
            at = 24 + nstart++;
        else if (h >= 4 && h < 56 && nother < 16)
            at = 32 + nother++;
        else
            continue;
        m.keys[at] = k;
        m.home[at] = h;
    }

    long wrapped = 0;
    for (uint64_t seed = 1; seed <= 4; seed++)
        wrapped += run_random(&m, seed * 0x9E3779B97F4A7C15ull, 50000, 250);
    assert_int_equal(g_r.capacity, 64);
    print_message("removals in wrapping clusters: %ld\n", wrapped);
    assert_true(wrapped >= 10000);
    ref_free(&m);
}

/* A larger pool of scattered keys: resizes happen during the run, and the
 * random keys still collide and wrap at every capacity. */
static void test_random_growing(void **state)
{
    enum { P = 3000 };
    ref m;

    ref_alloc(&m, P);
    g_rng = 12345;
    for (size_t k = 0; k < P; k++) {
        int dup;
        do {
            m.keys[k] = (const void *)(uintptr_t)((rnd() & 0x00007ffffffffff0ull) | 0x10);
            dup = 0;
            for (size_t j = 0; j < k; j++)
                dup |= m.keys[j] == m.keys[k];
        } while (dup);
    }
    long wrapped = run_random(&m, 777, 200000, 5000);
    print_message("removals in wrapping clusters: %ld (capacity %zu)\n", wrapped, g_r.capacity);
    assert_true(wrapped > 0);
    ref_free(&m);
}

/* ------------------------------------------------------------------ */

static int keep_odd_origin(const al_task_rec *rec, void *ctx)
{
    (*(int *)ctx)++;
    return rec->origin & 1;
}

static int keep_none(const al_task_rec *rec, void *ctx)
{
    return 0;
}

static void test_select(void **state)
{
    enum { N = 500 };
    size_t n = 12345;
    int calls = 0;

    /* creation order unrelated to address (hence slot) order */
    for (uint32_t i = 0; i < N; i++) {
        al_task_rec in = mk(addr((i * 373u) % 1009u), 0, i, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    /* drop some, re-create some (they get the newest serials) */
    for (uint32_t i = 0; i < N; i += 5)
        assert_int_equal(al_registry_remove(&g_r, addr((i * 373u) % 1009u)), 1);
    for (uint32_t i = 0; i < N; i += 10) {
        al_task_rec in = mk(addr((i * 373u) % 1009u), 0, i, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    size_t live = g_r.count;

    /* all */
    al_task_rec *all = al_registry_select(&g_r, NULL, NULL, &n);
    assert_non_null(all);
    assert_int_equal(n, live);
    for (size_t i = 1; i < n; i++)
        assert_true(all[i - 1].serial < all[i].serial);
    for (size_t i = 0; i < n; i++) {
        al_task_rec *p = al_registry_get(&g_r, all[i].task);
        assert_non_null(p);
        assert_ptr_not_equal(p, &all[i]);
        assert_memory_equal(p, &all[i], sizeof *p);
    }
    /* they are copies */
    all[0].flags = 0xdead;
    all[0].task = NULL;
    for (size_t i = 0; i < g_r.capacity; i++)
        assert_int_not_equal(g_r.slots[i].flags, 0xdead);
    free(all);

    /* with a predicate and a context */
    n = 999;
    al_task_rec *odd = al_registry_select(&g_r, keep_odd_origin, &calls, &n);
    assert_int_equal(calls, (int)live);
    size_t want = 0;
    for (size_t i = 0; i < g_r.capacity; i++)
        want += g_r.slots[i].task != NULL && (g_r.slots[i].origin & 1);
    assert_true(want > 0);
    assert_non_null(odd);
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
        assert_true(odd[i].origin & 1);
        if (i > 0)
            assert_true(odd[i - 1].serial < odd[i].serial);
        assert_memory_equal(al_registry_get(&g_r, odd[i].task), &odd[i], sizeof odd[i]);
    }
    free(odd);

    /* nothing kept */
    n = 999;
    assert_null(al_registry_select(&g_r, keep_none, NULL, &n));
    assert_int_equal(n, 0);
}

static void test_select_explicit_serials_sorted(void **state)
{
    /* serials given by the caller, in an order unrelated to insertion */
    static const uint64_t serials[] = { 50, 3, 1000000000000ull, 7, 49, 2, 8, 1ull << 40 };
    size_t n;
    for (size_t i = 0; i < sizeof serials / sizeof *serials; i++) {
        al_task_rec in = mk(addr(i + 1), serials[i], (uint32_t)i, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    al_task_rec *out = al_registry_select(&g_r, NULL, NULL, &n);
    assert_non_null(out);
    assert_int_equal(n, sizeof serials / sizeof *serials);
    static const uint64_t sorted[] = { 2, 3, 7, 8, 49, 50, 1000000000000ull, 1ull << 40 };
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i].serial, sorted[i]);
    free(out);
}

/* Large selections are radix-sorted: serials spread over all six bytes,
 * with runs sharing their low bytes, come out in order and intact. */
static void test_select_large_sorted(void **state)
{
    enum { N = 20000 };
    size_t n;

    g_rng = 99;
    for (uintptr_t i = 0; i < N; i++) {
        uint64_t serial = (i % 3 == 0) ? (rnd() & AL_SERIAL_MAX) | 1 : (i << 20) | 7;
        al_task_rec in = mk(addr(i * 5 + 1), serial, (uint32_t)i, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    al_task_rec *out = al_registry_select(&g_r, NULL, NULL, &n);
    assert_non_null(out);
    assert_int_equal(n, N);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(out[i - 1].serial <= out[i].serial);
        assert_memory_equal(al_registry_get(&g_r, out[i].task), &out[i], sizeof out[i]);
    }
    free(out);
}

static void test_select_empty(void **state)
{
    size_t n = 77;
    int calls = 0;

    /* never used */
    assert_null(al_registry_select(&g_r, NULL, NULL, &n));
    assert_int_equal(n, 0);
    n = 77;
    assert_null(al_registry_select(&g_r, keep_odd_origin, &calls, &n));
    assert_int_equal(n, 0);
    assert_int_equal(calls, 0);

    /* emptied */
    al_task_rec in = mk(addr(3), 0, 1, 0);
    assert_non_null(al_registry_put(&g_r, &in));
    assert_int_equal(al_registry_remove(&g_r, addr(3)), 1);
    n = 77;
    assert_null(al_registry_select(&g_r, NULL, NULL, &n));
    assert_int_equal(n, 0);
}

static void test_free_init_reuse(void **state)
{
    for (uintptr_t i = 0; i < 300; i++) {
        al_task_rec in = mk(addr(i), 0, 0, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    al_registry_free(&g_r);
    assert_null(g_r.slots);
    assert_int_equal(g_r.count, 0);
    assert_int_equal(g_r.capacity, 0);
    assert_null(al_registry_get(&g_r, addr(5)));
    assert_int_equal(al_registry_remove(&g_r, addr(5)), 0);
    /* freeing twice is harmless */
    al_registry_free(&g_r);

    al_registry_init(&g_r);
    assert_null(al_registry_get(&g_r, addr(5)));
    al_task_rec in = mk(addr(5), 0, 9, 0);
    al_task_rec *p = al_registry_put(&g_r, &in);
    assert_non_null(p);
    assert_int_equal(p->serial, 1);
    assert_int_equal(g_r.count, 1);
    assert_null(al_registry_get(&g_r, addr(6)));
    /* teardown frees again */
}

/* A burst of live tasks does not keep its table: it shrinks, never below
 * 64 slots nor under 3/8 full, and every record stays found. */
static void test_shrink(void **state)
{
    enum { N = 50000 };
    size_t peak, last_cap;

    for (uintptr_t i = 0; i < N; i++) {
        al_task_rec in = mk(addr(i * 3), 0, (uint32_t)i, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    peak = last_cap = g_r.capacity;
    for (uintptr_t i = 0; i < N; i++) {
        assert_int_equal(al_registry_remove(&g_r, addr(i * 3)), 1);
        if (g_r.capacity != last_cap) {
            assert_true(g_r.capacity < last_cap);
            last_cap = g_r.capacity;
        }
        assert_true(g_r.capacity == 64 || g_r.count * 8 >= g_r.capacity * 3);
        if (i % 4999 == 0)
            for (uintptr_t j = i + 1; j < N; j += 97)
                assert_non_null(al_registry_get(&g_r, addr(j * 3)));
    }
    assert_true(peak > 50000);
    assert_int_equal(g_r.capacity, 64);
    assert_int_equal(g_r.count, 0);
}

static void test_find_serial(void **state)
{
    for (uintptr_t i = 0; i < 300; i++) {
        al_task_rec in = mk(addr(i), 0, (uint32_t)i, 0);
        assert_non_null(al_registry_put(&g_r, &in));
    }
    assert_int_equal(al_registry_remove(&g_r, addr(10)), 1);
    assert_null(al_registry_find_serial(&g_r, 0));
    assert_null(al_registry_find_serial(&g_r, 11));         /* removed */
    assert_null(al_registry_find_serial(&g_r, 301));        /* never given */
    al_task_rec *p = al_registry_find_serial(&g_r, 12);
    assert_non_null(p);
    assert_ptr_equal(p->task, addr(11));
    assert_ptr_equal(p, al_registry_get(&g_r, addr(11)));
}

/* Serials are 48 bits wide and skip 0 when they wrap. */
static void test_serial_wraps(void **state)
{
    g_r.next_serial = AL_SERIAL_MAX;
    al_task_rec a = mk(addr(1), 0, 0, 0), b = mk(addr(2), 0, 0, 0);
    assert_int_equal(al_registry_put(&g_r, &a)->serial, AL_SERIAL_MAX);
    assert_int_equal(al_registry_put(&g_r, &b)->serial, 1);
    al_task_rec *p = al_registry_get(&g_r, addr(1));
    assert_int_equal(p->serial, AL_SERIAL_MAX);
    p->flags |= AL_TASK_DYING;          /* a flag does not spill into the serial */
    assert_int_equal(p->serial, AL_SERIAL_MAX);
    assert_int_equal(p->flags, AL_TASK_DYING);
}

/* Objects laid out a Fibonacci number of 16-byte units apart (144 x 16
 * bytes: what the allocator gave consecutive tasks) must not share home
 * slots: with plain Fibonacci hashing they did, and a million live tasks
 * made probe runs long enough to slow spawning several times over. */
static void test_fibonacci_strides_spread(void **state)
{
    static const uintptr_t strides[] = { 89, 144, 233, 377, 610 };
    for (size_t s = 0; s < sizeof strides / sizeof *strides; s++) {
        int seen[64] = {0}, distinct = 0;
        for (uintptr_t i = 0; i < 48; i++) {
            size_t h = home64(addr(0x200000 + i * strides[s]));
            distinct += !seen[h];
            seen[h] = 1;
        }
        /* 48 random keys over 64 slots hit about 34 distinct slots */
        if (distinct < 24)
            fail_msg("stride %zu x 16 bytes: 48 keys on %d home slots", (size_t)strides[s], distinct);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_get_remove_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_task_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_record_with_explicit_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serials_in_creation_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth_100k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_wraparound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_growing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_explicit_serials_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_large_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_init_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fibonacci_strides_spread, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
