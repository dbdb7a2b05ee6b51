/* attach_vector_spin.c - a C loop that keeps values live in the AVX-512
 * registers gdb 13 misplaces on AMD Zen 4 (ymm16-ymm19), for
 * attach_vector_spin.py (built by test_attach.py with -mavx512f -mavx512vl).
 *
 * spin(stop) loads a known pattern into ymm16-19, counts down 300 times
 * (no call: the registers stay live), stores them back and compares, then
 * calls an out-of-line function (a call boundary, where the ABI makes
 * every vector register dead), until *stop is set.  Returns how many of
 * the stored registers did not hold the pattern: a debugger that changed
 * a register of the stopped thread shows here. */
#include <string.h>

__attribute__((noinline)) void boundary(void)
{
    __asm__ volatile("" ::: "memory");
}

long spin(volatile int *stop)
{
    unsigned char pattern[32], out[4][32];
    long bad = 0;
    int i, k;

    for (i = 0; i < 32; i++)
        pattern[i] = (unsigned char)(i * 7 + 1);
    while (!*stop) {
        __asm__ volatile(
            "vmovdqu64 (%4), %%ymm16\n\t"
            "vmovdqu64 (%4), %%ymm17\n\t"
            "vmovdqu64 (%4), %%ymm18\n\t"
            "vmovdqu64 (%4), %%ymm19\n\t"
            "mov $300, %%rcx\n"
            "1: dec %%rcx\n\t"
            "jnz 1b\n\t"
            "vmovdqu64 %%ymm16, %0\n\t"
            "vmovdqu64 %%ymm17, %1\n\t"
            "vmovdqu64 %%ymm18, %2\n\t"
            "vmovdqu64 %%ymm19, %3\n\t"
            : "=m"(out[0]), "=m"(out[1]), "=m"(out[2]), "=m"(out[3])
            : "r"(pattern)
            : "rcx", "xmm16", "xmm17", "xmm18", "xmm19", "memory");
        for (k = 0; k < 4; k++)
            bad += memcmp(out[k], pattern, sizeof pattern) != 0;
        boundary();
    }
    return bad;
}
