// links: preload/stackintern.c
/* test_stackintern.c - unit tests of preload/stackintern.c: interning of raw
 * stacks (arrays of (code, lasti) pairs, innermost first) into dense ids.
 *
 * The interner is process-global; every test starts and ends with
 * al_stack_reset() (setup/teardown) so that each sees ids from 1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stackintern.h"

/* Fake code objects: distinct addresses, never dereferenced. */
static char g_codes[64][16];
#define CODE(i) ((const void *)g_codes[(i)])

/* retain() recorder */
#define MAX_RETAINS 4096
static const void *g_retained[MAX_RETAINS];
static size_t g_nretained;
static size_t g_retain_calls;

static void retain(const void *code)
{
    if (g_nretained < MAX_RETAINS)
        g_retained[g_nretained++] = code;
    g_retain_calls++;
}

static void retain_reset(void)
{
    g_nretained = 0;
    g_retain_calls = 0;
}

static int setup(void **state)
{
    al_stack_reset();
    retain_reset();
    return 0;
}

static int teardown(void **state)
{
    al_stack_reset();
    return 0;
}

/* Fills f[i] with (codes[i], lasti[i]); the padding of al_raw_frame is zeroed
 * so that only the two fields can make stacks differ. */
static void fill(al_raw_frame *f, uint32_t n, const int *codes, const int *lasti)
{
    memset(f, 0, n * sizeof *f);
    for (uint32_t i = 0; i < n; i++) {
        f[i].code = CODE(codes[i]);
        f[i].lasti = lasti[i];
    }
}

static void assert_frames(uint32_t id, const al_raw_frame *f, uint32_t n, int truncated)
{
    al_stack_rec *rec = al_stack_get(id);
    assert_non_null(rec);
    assert_int_equal(rec->id, id);
    assert_int_equal(rec->depth, n);
    assert_int_equal(!!rec->truncated, !!truncated);
    assert_null(rec->resolved);
    if (n > 0) {
        assert_non_null(rec->frames);
        assert_ptr_not_equal(rec->frames, f);        /* a copy */
    }
    for (uint32_t i = 0; i < n; i++) {
        assert_ptr_equal(rec->frames[i].code, f[i].code);
        assert_int_equal(rec->frames[i].lasti, f[i].lasti);
    }
}

/* ------------------------------------------------------------------ */

static void test_empty_interner(void **state)
{
    assert_int_equal(al_stack_count(), 0);
    assert_null(al_stack_get(0));
    assert_null(al_stack_get(1));
    assert_null(al_stack_get(UINT32_MAX));
}

static void test_identical_same_id(void **state)
{
    al_raw_frame a[3], b[3];
    static const int codes[] = { 1, 2, 3 }, lasti[] = { 10, 20, 30 };

    fill(a, 3, codes, lasti);
    fill(b, 3, codes, lasti);           /* equal contents, another buffer */
    uint32_t id = al_stack_intern(a, 3, 0, retain);
    assert_int_equal(id, 1);
    assert_int_equal(al_stack_intern(a, 3, 0, retain), id);
    assert_int_equal(al_stack_intern(b, 3, 0, retain), id);
    assert_int_equal(al_stack_count(), 1);
    assert_frames(id, a, 3, 0);

    /* the record holds its own copy: scribbling the input does not matter */
    a[0].lasti = 999;
    a[1].code = CODE(40);
    assert_frames(id, b, 3, 0);
    assert_int_equal(al_stack_intern(b, 3, 0, retain), id);
}

static void test_differences_make_new_ids(void **state)
{
    static const int codes[] = { 1, 2, 3 }, lasti[] = { 10, 20, 30 };
    al_raw_frame base[3], f[3];
    uint32_t ids[16];
    size_t k = 0;

    fill(base, 3, codes, lasti);
    ids[k++] = al_stack_intern(base, 3, 0, NULL);

    /* lasti of the innermost, the middle, the outermost frame */
    for (int i = 0; i < 3; i++) {
        memcpy(f, base, sizeof f);
        f[i].lasti += 2;
        ids[k++] = al_stack_intern(f, 3, 0, NULL);
    }
    /* lasti -1 (unknown) vs 0 */
    memcpy(f, base, sizeof f);
    f[0].lasti = -1;
    ids[k++] = al_stack_intern(f, 3, 0, NULL);
    f[0].lasti = 0;
    ids[k++] = al_stack_intern(f, 3, 0, NULL);
    /* code of each frame */
    for (int i = 0; i < 3; i++) {
        memcpy(f, base, sizeof f);
        f[i].code = CODE(9);
        ids[k++] = al_stack_intern(f, 3, 0, NULL);
    }
    /* frames swapped */
    memcpy(f, base, sizeof f);
    f[0] = base[1];
    f[1] = base[0];
    ids[k++] = al_stack_intern(f, 3, 0, NULL);
    /* depth: a prefix and an extension */
    ids[k++] = al_stack_intern(base, 2, 0, NULL);
    ids[k++] = al_stack_intern(base, 1, 0, NULL);
    {
        al_raw_frame g[4];
        static const int c4[] = { 1, 2, 3, 4 }, l4[] = { 10, 20, 30, 40 };
        fill(g, 4, c4, l4);
        ids[k++] = al_stack_intern(g, 4, 0, NULL);
        /* the suffix (outer frames only) */
        ids[k++] = al_stack_intern(g + 1, 3, 0, NULL);
    }

    for (size_t i = 0; i < k; i++) {
        assert_int_equal(ids[i], i + 1);           /* new each time, dense */
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(ids[i], ids[j]);
    }
    assert_int_equal(al_stack_count(), k);
    /* and the base is still found */
    assert_int_equal(al_stack_intern(base, 3, 0, NULL), ids[0]);
    assert_int_equal(al_stack_count(), k);
}

/* The truncated flag is part of a stack's identity, whatever the depth.
 * Each lookup is preceded by an unrelated stack so that the "last hit" fast
 * path cannot answer and the hash table is consulted. */
static void test_truncated_distinguishes(void **state)
{
    static const int codes[] = { 1, 2, 3, 4 }, lasti[] = { 10, 20, 30, 40 };
    static const int oc[] = { 50 }, ol[] = { 5 };
    al_raw_frame f[4], other[1];

    fill(f, 4, codes, lasti);
    fill(other, 1, oc, ol);
    uint32_t other_id = al_stack_intern(other, 1, 0, NULL);

    for (uint32_t n = 0; n <= 4; n++) {
        uint32_t plain, trunc;

        assert_int_equal(al_stack_intern(other, 1, 0, NULL), other_id);
        plain = al_stack_intern(f, n, 0, NULL);
        assert_int_equal(al_stack_intern(other, 1, 0, NULL), other_id);
        trunc = al_stack_intern(f, n, 1, NULL);
        if (plain == trunc)
            fail_msg("depth %u: truncated and complete stacks share id %u", n, plain);
        assert_frames(plain, f, n, 0);
        assert_frames(trunc, f, n, 1);

        /* both found again, through the table and through the fast path */
        assert_int_equal(al_stack_intern(other, 1, 0, NULL), other_id);
        assert_int_equal(al_stack_intern(f, n, 0, NULL), plain);
        assert_int_equal(al_stack_intern(other, 1, 0, NULL), other_id);
        assert_int_equal(al_stack_intern(f, n, 1, NULL), trunc);
        assert_int_equal(al_stack_intern(f, n, 1, NULL), trunc);
        assert_int_equal(al_stack_intern(f, n, 0, NULL), plain);
        assert_int_equal(al_stack_intern(f, n, 0, NULL), plain);
    }
    assert_int_equal(al_stack_count(), 1 + 5 * 2);
}

/* Same, but with the truncated stack interned first. */
static void test_truncated_first(void **state)
{
    static const int codes[] = { 7 }, lasti[] = { 70 };
    static const int oc[] = { 50 }, ol[] = { 5 };
    al_raw_frame f[1], other[1];

    fill(f, 1, codes, lasti);
    fill(other, 1, oc, ol);
    uint32_t trunc = al_stack_intern(f, 1, 1, NULL);
    al_stack_intern(other, 1, 0, NULL);
    uint32_t plain = al_stack_intern(f, 1, 0, NULL);
    assert_int_not_equal(plain, trunc);
    assert_frames(trunc, f, 1, 1);
    assert_frames(plain, f, 1, 0);
}

/* Two captures of the same frames are the same stack even when the bytes
 * between the fields (the padding after lasti on LP64) differ, as they do for
 * the uninitialized stack buffer of stacks.c. */
static void test_padding_is_not_identity(void **state)
{
    al_raw_frame a[2], b[2];

    if (sizeof(al_raw_frame) == sizeof(void *) + sizeof(int))
        skip();                         /* no padding on this ABI */
    memset(a, 0x00, sizeof a);
    memset(b, 0xA5, sizeof b);
    for (int i = 0; i < 2; i++) {
        a[i].code = b[i].code = CODE(i + 1);
        a[i].lasti = b[i].lasti = 10 * i;
    }
    uint32_t ia = al_stack_intern(a, 2, 0, NULL);
    assert_int_equal(al_stack_intern(b, 2, 0, NULL), ia);
    /* also through the hash table rather than the fast path */
    static const int oc[] = { 50 }, ol[] = { 5 };
    al_raw_frame other[1];
    fill(other, 1, oc, ol);
    al_stack_intern(other, 1, 0, NULL);
    assert_int_equal(al_stack_intern(b, 2, 0, NULL), ia);
    assert_int_equal(al_stack_count(), 2);
}

static void test_retain_once_per_frame_of_new_stack(void **state)
{
    /* a repeated code object in the stack (recursion) is retained per frame */
    static const int codes[] = { 1, 2, 1, 3 }, lasti[] = { 10, 20, 12, 30 };
    al_raw_frame f[4], g[4];

    fill(f, 4, codes, lasti);
    uint32_t id = al_stack_intern(f, 4, 0, retain);
    assert_int_equal(g_retain_calls, 4);
    for (int i = 0; i < 4; i++)
        assert_ptr_equal(g_retained[i], CODE(codes[i]));

    /* repeats: fast path, another buffer, after another stack */
    retain_reset();
    assert_int_equal(al_stack_intern(f, 4, 0, retain), id);
    memcpy(g, f, sizeof g);
    assert_int_equal(al_stack_intern(g, 4, 0, retain), id);
    assert_int_equal(g_retain_calls, 0);

    static const int c2[] = { 4, 5 }, l2[] = { 1, 2 };
    al_raw_frame h[2];
    fill(h, 2, c2, l2);
    uint32_t id2 = al_stack_intern(h, 2, 0, retain);
    assert_int_equal(g_retain_calls, 2);
    assert_ptr_equal(g_retained[0], CODE(4));
    assert_ptr_equal(g_retained[1], CODE(5));
    retain_reset();
    assert_int_equal(al_stack_intern(f, 4, 0, retain), id);
    assert_int_equal(al_stack_intern(h, 2, 0, retain), id2);
    assert_int_equal(g_retain_calls, 0);

    /* a new stack sharing code objects with known ones still retains them all */
    g[0].lasti = 11;
    assert_int_equal(al_stack_intern(g, 4, 0, retain), 3);
    assert_int_equal(g_retain_calls, 4);

    /* the truncated variant is a new stack too */
    retain_reset();
    uint32_t t = al_stack_intern(h, 2, 1, retain);
    assert_int_not_equal(t, id2);
    assert_int_equal(g_retain_calls, 2);

    /* retain may be NULL */
    retain_reset();
    static const int c3[] = { 6 }, l3[] = { 0 };
    al_raw_frame k[1];
    fill(k, 1, c3, l3);
    uint32_t idk = al_stack_intern(k, 1, 0, NULL);
    assert_true(idk >= 1);
    assert_int_equal(al_stack_intern(k, 1, 0, retain), idk);
    assert_int_equal(g_retain_calls, 0);
}

static void test_dense_ids_and_get(void **state)
{
    enum { N = 300 };
    al_raw_frame f[N][5];
    uint32_t depth[N];

    for (uint32_t i = 0; i < N; i++) {
        depth[i] = 1 + i % 5;
        memset(f[i], 0, sizeof f[i]);
        for (uint32_t d = 0; d < depth[i]; d++) {
            f[i][d].code = CODE((i + d) % 64);
            f[i][d].lasti = (int)(i * 2 + d);
        }
        assert_int_equal(al_stack_intern(f[i], depth[i], i % 7 == 0, NULL), i + 1);
        assert_int_equal(al_stack_count(), i + 1);
    }
    for (uint32_t i = 0; i < N; i++)
        assert_frames(i + 1, f[i], depth[i], i % 7 == 0);
    /* innermost first, as given */
    assert_ptr_equal(al_stack_get(1)->frames[0].code, CODE(0));
    assert_int_equal(al_stack_get(5)->depth, 5);
    assert_ptr_equal(al_stack_get(5)->frames[0].code, CODE(4));
    assert_ptr_equal(al_stack_get(5)->frames[4].code, CODE(8));
    assert_int_equal(al_stack_get(5)->frames[4].lasti, 12);

    assert_null(al_stack_get(0));
    assert_null(al_stack_get(N + 1));
    assert_null(al_stack_get(N + 1000));
    assert_null(al_stack_get(UINT32_MAX));
    /* re-interning in reverse order returns the same ids */
    for (uint32_t i = N; i-- > 0;)
        assert_int_equal(al_stack_intern(f[i], depth[i], i % 7 == 0, NULL), i + 1);
    assert_int_equal(al_stack_count(), N);
}

static void test_many_distinct_stacks(void **state)
{
    enum { N = 50000, MAXD = 12 };
    al_raw_frame *all = calloc((size_t)N * MAXD, sizeof *all);
    uint32_t *depth = calloc(N, sizeof *depth);
    assert_non_null(all);
    assert_non_null(depth);

    retain_reset();
    size_t frames_total = 0;
    for (uint32_t i = 0; i < N; i++) {
        al_raw_frame *f = all + (size_t)i * MAXD;
        depth[i] = 1 + (i * 7u) % MAXD;
        for (uint32_t d = 0; d < depth[i]; d++) {
            f[d].code = CODE((i * 31u + d * 17u) % 64);
            /* the innermost lasti makes every stack distinct */
            f[d].lasti = d == 0 ? (int)i : (int)(d * 2);
        }
        frames_total += depth[i];
        uint32_t id = al_stack_intern(f, depth[i], 0, retain);
        assert_int_equal(id, i + 1);
    }
    assert_int_equal(al_stack_count(), N);
    assert_int_equal(g_retain_calls, frames_total);

    retain_reset();
    for (uint32_t i = 0; i < N; i++) {
        al_raw_frame *f = all + (size_t)i * MAXD;
        assert_int_equal(al_stack_intern(f, depth[i], 0, retain), i + 1);
    }
    for (uint32_t i = N; i-- > 0;) {
        al_raw_frame *f = all + (size_t)i * MAXD;
        assert_int_equal(al_stack_intern(f, depth[i], 0, retain), i + 1);
        al_stack_rec *rec = al_stack_get(i + 1);
        assert_non_null(rec);
        assert_int_equal(rec->depth, depth[i]);
        assert_memory_equal(rec->frames, f, depth[i] * sizeof *f);
    }
    assert_int_equal(g_retain_calls, 0);
    assert_int_equal(al_stack_count(), N);
    assert_null(al_stack_get(N + 1));
    free(all);
    free(depth);
}

static void test_empty_stack(void **state)
{
    al_raw_frame dummy[1];
    static const int c[] = { 1 }, l[] = { 0 };

    uint32_t e = al_stack_intern(NULL, 0, 0, retain);
    assert_int_equal(e, 1);
    assert_int_equal(g_retain_calls, 0);
    al_stack_rec *rec = al_stack_get(e);
    assert_non_null(rec);
    assert_int_equal(rec->depth, 0);
    assert_false(rec->truncated);

    /* the same, through the fast path, with another (unread) pointer, and
     * through the table */
    assert_int_equal(al_stack_intern(NULL, 0, 0, retain), e);
    fill(dummy, 1, c, l);
    assert_int_equal(al_stack_intern(dummy, 0, 0, retain), e);
    uint32_t one = al_stack_intern(dummy, 1, 0, retain);
    assert_int_not_equal(one, e);
    assert_int_equal(al_stack_intern(NULL, 0, 0, retain), e);
    assert_int_equal(al_stack_intern(dummy, 1, 0, retain), one);
    assert_int_equal(al_stack_count(), 2);
    assert_int_equal(g_retain_calls, 1);
}

/* The "last hit" fast path must never answer for a different stack. */
static void test_last_hit_alternating(void **state)
{
    static const int ca[] = { 1, 2 }, la[] = { 10, 20 };
    static const int cb[] = { 1, 2 }, lb[] = { 10, 22 };
    al_raw_frame a[2], b[2], c[3];

    fill(a, 2, ca, la);
    fill(b, 2, cb, lb);
    uint32_t ia = al_stack_intern(a, 2, 0, NULL);
    uint32_t ib = al_stack_intern(b, 2, 0, NULL);
    assert_int_not_equal(ia, ib);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(al_stack_intern(a, 2, 0, NULL), ia);
        assert_int_equal(al_stack_intern(a, 2, 0, NULL), ia);
        assert_int_equal(al_stack_intern(b, 2, 0, NULL), ib);
    }
    /* a prefix / extension of the last hit, in the same buffer */
    memset(c, 0, sizeof c);
    memcpy(c, a, sizeof a);
    c[2].code = CODE(3);
    c[2].lasti = 30;
    assert_int_equal(al_stack_intern(c, 2, 0, NULL), ia);
    uint32_t ic = al_stack_intern(c, 3, 0, NULL);
    assert_int_not_equal(ic, ia);
    assert_int_equal(al_stack_intern(c, 2, 0, NULL), ia);
    assert_int_equal(al_stack_intern(c, 1, 0, NULL), 4);
    assert_int_equal(al_stack_intern(c, 3, 0, NULL), ic);
    /* the last hit's frames mutated in place by the caller */
    c[0].lasti = 11;
    assert_int_equal(al_stack_intern(c, 3, 0, NULL), 5);
    c[0].lasti = 10;
    assert_int_equal(al_stack_intern(c, 3, 0, NULL), ic);
    assert_int_equal(al_stack_count(), 5);
}

static void test_reset(void **state)
{
    static const int ca[] = { 1, 2 }, la[] = { 10, 20 };
    static const int cb[] = { 3 }, lb[] = { 30 };
    al_raw_frame a[2], b[1];

    fill(a, 2, ca, la);
    fill(b, 1, cb, lb);
    assert_int_equal(al_stack_intern(a, 2, 0, retain), 1);
    assert_int_equal(al_stack_intern(b, 1, 0, retain), 2);
    for (int i = 0; i < 1000; i++) {     /* grow the id index past its first size */
        al_raw_frame f[1];
        memset(f, 0, sizeof f);
        f[0].code = CODE(5);
        f[0].lasti = i;
        assert_int_equal(al_stack_intern(f, 1, 0, retain), (uint32_t)i + 3);
    }
    al_stack_reset();
    assert_int_equal(al_stack_count(), 0);
    assert_null(al_stack_get(1));
    assert_null(al_stack_get(2));

    /* everything is new again, ids restart at 1, retain is called again, and
     * the former last hit is not remembered */
    retain_reset();
    assert_int_equal(al_stack_intern(b, 1, 0, retain), 1);
    assert_int_equal(g_retain_calls, 1);
    assert_int_equal(al_stack_intern(a, 2, 0, retain), 2);
    assert_int_equal(g_retain_calls, 3);
    assert_frames(1, b, 1, 0);
    assert_frames(2, a, 2, 0);
    assert_int_equal(al_stack_count(), 2);

    /* the last hit before a reset is new after it */
    al_stack_reset();
    retain_reset();
    assert_int_equal(al_stack_intern(a, 2, 0, retain), 1);
    al_stack_reset();
    assert_int_equal(al_stack_intern(a, 2, 0, retain), 1);
    assert_int_equal(g_retain_calls, 4);
    assert_int_equal(al_stack_count(), 1);
    al_stack_reset();

    /* reset twice, and with nothing interned */
    al_stack_reset();
    al_stack_reset();
    assert_int_equal(al_stack_count(), 0);
    assert_int_equal(al_stack_intern(a, 2, 0, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_interner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identical_same_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_differences_make_new_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_distinguishes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_padding_is_not_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retain_once_per_frame_of_new_stack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dense_ids_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_distinct_stacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_stack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_hit_alternating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
