/* native.c - native origin stacks (see native.h and docs/native.md).
 *
 * Capture: unw_backtrace from libunwind.so.8 (dlopen'ed by al_native_init,
 * never linked) into a buffer of return addresses; frames inside
 * asyncleak's own object and inside libunwind are dropped; the address list
 * is interned (one record per distinct stack, ids from 1, like stacks.c).
 *
 * Resolution, at report time only, once per address: the object from
 * dl_iterate_phdr (done again when an address lies in no known object, so
 * libraries dlopen'ed late resolve too; the main program's path comes from
 * /proc/self/exe), the symbol from dladdr (exported symbols), else from the
 * object's ELF .symtab or that of its separate debug file (static
 * functions, executables such as Debian's python3 that export only part of
 * the interpreter), else libdw; file and line from DWARF through libdw
 * (libdw.so.1, optional, dlopen'ed on first use).  Lookups use ip - 1: a
 * return address can lie past the end of the calling function.
 *
 * Hybrid merge: a pure function of resolved frames, see the comment above
 * al_native_merge_hybrid.
 *
 * Nothing here calls CPython; every failure degrades (null symbol, no
 * file/line, no stack), nothing aborts.
 */
#include "native.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render_text.h"

/* report.c (declared here: al.h would pull in Python.h). */
void al_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- libunwind ---------------------------------------------------------- */

typedef int (*unw_backtrace_fn)(void **buffer, int size);

typedef struct { uintptr_t lo, hi; } addr_range;

static unw_backtrace_fn g_backtrace;
static int g_init_rc = 1;               /* 1: not tried yet */
static addr_range g_self, g_unwind;     /* frames dropped from captures */

struct range_query { uintptr_t addr; addr_range *out; };

static int range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    struct range_query *q = data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    int hit = 0, i;

    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s, e;
        if (ph->p_type != PT_LOAD)
            continue;
        s = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
        e = s + (uintptr_t)ph->p_memsz;
        if (s < lo)
            lo = s;
        if (e > hi)
            hi = e;
        if (q->addr >= s && q->addr < e)
            hit = 1;
    }
    if (!hit)
        return 0;
    q->out->lo = lo;
    q->out->hi = hi;
    return 1;
}

/* The PT_LOAD extent of the object holding addr ({0, 0} when none). */
static void object_range(uintptr_t addr, addr_range *out)
{
    struct range_query q = {addr, out};

    out->lo = out->hi = 0;
    dl_iterate_phdr(range_cb, &q);
}

static int in_range(const addr_range *r, uintptr_t a)
{
    return a >= r->lo && a < r->hi;
}

int al_native_init(void)
{
    void *h;

    if (g_init_rc != 1)
        return g_init_rc;
    g_init_rc = -1;
    h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *why = dlerror();
        al_diag("native=1: cannot load libunwind.so.8 (%s); native stacks are off (Debian: apt install libunwind8)",
                why ? why : "not found");
        return -1;
    }
    g_backtrace = (unw_backtrace_fn)dlsym(h, "unw_backtrace");
    if (g_backtrace == NULL) {
        al_diag("native=1: libunwind.so.8 has no unw_backtrace; native stacks are off");
        dlclose(h);
        return -1;
    }
    object_range((uintptr_t)al_native_init, &g_self);
    object_range((uintptr_t)g_backtrace, &g_unwind);
    g_init_rc = 0;
    return 0;
}

int al_native_available(void)
{
    return g_init_rc == 0;
}

/* ---- interning ---------------------------------------------------------- */

typedef struct nat_rec {
    uint64_t hash;
    uint32_t n;
    int truncated;
    uintptr_t *ips;          /* innermost first */
} nat_rec;

static nat_rec **g_recs;     /* by id - 1 */
static uint32_t g_count, g_cap;
static uint32_t *g_index;    /* open addressing: slot -> id, 0 = empty */
static size_t g_index_cap;   /* power of two */
static uint32_t g_last;      /* id of the most recent hit */

static uint64_t hash_ips(const uintptr_t *ips, uint32_t n, int truncated)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n ^ ((uint64_t)(truncated != 0) << 32);
    uint32_t i;

    for (i = 0; i < n; i++) {
        h ^= (uint64_t)ips[i];
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h ^ (h >> 32);
}

static int rec_equals(const nat_rec *r, const uintptr_t *ips, uint32_t n, int truncated, uint64_t h)
{
    return r->hash == h && r->n == n && r->truncated == (truncated != 0)
        && memcmp(r->ips, ips, n * sizeof *ips) == 0;
}

static int index_grow(void)
{
    size_t ncap = g_index_cap ? g_index_cap * 2 : 256, i, j;
    uint32_t *nidx = calloc(ncap, sizeof *nidx);

    if (nidx == NULL)
        return -1;
    for (i = 0; i < g_count; i++) {
        for (j = g_recs[i]->hash & (ncap - 1); nidx[j] != 0; j = (j + 1) & (ncap - 1))
            ;
        nidx[j] = (uint32_t)i + 1;
    }
    free(g_index);
    g_index = nidx;
    g_index_cap = ncap;
    return 0;
}

uint32_t al_native_intern(const uintptr_t *ips, uint32_t n, int truncated)
{
    uint64_t h;
    size_t slot;
    nat_rec *rec;

    if (n == 0 || ips == NULL)
        return 0;
    h = hash_ips(ips, n, truncated);
    if (g_last != 0 && rec_equals(g_recs[g_last - 1], ips, n, truncated, h))
        return g_last;
    if (g_index_cap != 0)
        for (slot = h & (g_index_cap - 1); g_index[slot] != 0; slot = (slot + 1) & (g_index_cap - 1))
            if (rec_equals(g_recs[g_index[slot] - 1], ips, n, truncated, h))
                return g_last = g_index[slot];
    if (g_count == UINT32_MAX - 1)
        return 0;
    if ((size_t)(g_count + 1) * 2 > g_index_cap && index_grow() < 0)
        return 0;
    if (g_count == g_cap) {
        uint32_t ncap = g_cap ? g_cap * 2 : 64;
        nat_rec **nrecs = realloc(g_recs, ncap * sizeof *nrecs);
        if (nrecs == NULL)
            return 0;
        g_recs = nrecs;
        g_cap = ncap;
    }
    rec = malloc(sizeof *rec);
    if (rec == NULL)
        return 0;
    rec->ips = malloc(n * sizeof *ips);
    if (rec->ips == NULL) {
        free(rec);
        return 0;
    }
    memcpy(rec->ips, ips, n * sizeof *ips);
    rec->n = n;
    rec->truncated = truncated != 0;
    rec->hash = h;
    g_recs[g_count++] = rec;
    for (slot = h & (g_index_cap - 1); g_index[slot] != 0; slot = (slot + 1) & (g_index_cap - 1))
        ;
    g_index[slot] = g_count;
    return g_last = g_count;
}

uint32_t al_native_count(void)
{
    return g_count;
}

/* Room for our own frames (capture, hook, wrapper) and libunwind's, which
 * are dropped, on top of the kept depth. */
#define CAPTURE_SLACK 8

uint32_t al_native_capture(void)
{
    void *buf[AL_NATIVE_MAX_DEPTH + CAPTURE_SLACK];
    uintptr_t ips[AL_NATIVE_MAX_DEPTH];
    uint32_t m = 0;
    int n, i, truncated;

    if (g_backtrace == NULL)
        return 0;
    n = g_backtrace(buf, (int)(sizeof buf / sizeof *buf));
    truncated = n >= (int)(sizeof buf / sizeof *buf);
    for (i = 0; i < n; i++) {
        uintptr_t ip = (uintptr_t)buf[i];
        if (ip == 0 || in_range(&g_self, ip) || in_range(&g_unwind, ip))
            continue;
        if (m == AL_NATIVE_MAX_DEPTH) {
            truncated = 1;
            break;
        }
        ips[m++] = ip;
    }
    return al_native_intern(ips, m, truncated);
}

/* ---- ELF symbol tables -------------------------------------------------- */

typedef struct sym_ent {
    uint64_t value, size;
    uint32_t name;           /* offset in strtab */
} sym_ent;

typedef struct al_symtab {
    sym_ent *syms;           /* functions, sorted by value */
    size_t n;
    char *strtab;            /* NUL-terminated copy */
    size_t strsz;
} al_symtab;

typedef struct elf_hints {   /* where a stripped file's debug file may be */
    unsigned char build_id[64];
    size_t build_id_len;
    char debuglink[256];
} elf_hints;

#define MAX_SECTION (256u << 20)

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;

    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* A malloc'd, NUL-terminated copy of a section's bytes, or NULL. */
static char *read_section(int fd, uint64_t fsize, const Elf64_Shdr *sh, size_t max)
{
    char *b;

    if (sh->sh_type == SHT_NOBITS || sh->sh_offset > fsize || sh->sh_size > fsize - sh->sh_offset
        || sh->sh_size > max)
        return NULL;
    b = malloc((size_t)sh->sh_size + 1);
    if (b == NULL)
        return NULL;
    if (pread_all(fd, b, (size_t)sh->sh_size, sh->sh_offset) < 0) {
        free(b);
        return NULL;
    }
    b[sh->sh_size] = '\0';
    return b;
}

static int by_value(const void *a, const void *b)
{
    const sym_ent *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->size < y->size) - (x->size > y->size);   /* larger first */
}

static int build_symtab(int fd, uint64_t fsize, const Elf64_Shdr *symsh, const Elf64_Shdr *strsh,
                        al_symtab *st)
{
    Elf64_Sym *raw;
    size_t n, i, k = 0;
    char *strtab;

    if (symsh->sh_entsize != sizeof(Elf64_Sym) || strsh->sh_type != SHT_STRTAB)
        return -1;
    raw = (Elf64_Sym *)read_section(fd, fsize, symsh, MAX_SECTION);
    strtab = read_section(fd, fsize, strsh, MAX_SECTION);
    if (raw == NULL || strtab == NULL) {
        free(raw);
        free(strtab);
        return -1;
    }
    n = (size_t)(symsh->sh_size / sizeof(Elf64_Sym));
    st->syms = malloc((n ? n : 1) * sizeof *st->syms);
    if (st->syms == NULL) {
        free(raw);
        free(strtab);
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned type = ELF64_ST_TYPE(raw[i].st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || raw[i].st_shndx == SHN_UNDEF
            || raw[i].st_value == 0 || raw[i].st_name == 0 || raw[i].st_name >= strsh->sh_size)
            continue;
        st->syms[k].value = raw[i].st_value;
        st->syms[k].size = raw[i].st_size;
        st->syms[k].name = raw[i].st_name;
        k++;
    }
    free(raw);
    qsort(st->syms, k, sizeof *st->syms, by_value);
    st->n = k;
    st->strtab = strtab;
    st->strsz = (size_t)strsh->sh_size;
    return 0;
}

static void parse_notes(const unsigned char *p, size_t len, elf_hints *h)
{
    size_t off = 0;

    while (off + sizeof(Elf64_Nhdr) <= len) {
        const Elf64_Nhdr *nh = (const Elf64_Nhdr *)(p + off);
        size_t namesz = nh->n_namesz, descsz = nh->n_descsz;
        size_t name_off = off + sizeof *nh;
        size_t desc_off = name_off + ((namesz + 3) & ~(size_t)3);
        if (namesz > len || descsz > len || desc_off > len || descsz > len - desc_off)
            return;
        if (nh->n_type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + name_off, "GNU", 4) == 0
            && descsz >= 2 && descsz <= sizeof h->build_id) {
            memcpy(h->build_id, p + desc_off, descsz);
            h->build_id_len = descsz;
            return;
        }
        off = desc_off + ((descsz + 3) & ~(size_t)3);
    }
}

/* Loads the function symbols of path's .symtab into *st (0), or returns -1;
 * then, when hints is given, fills it from the build-id note and
 * .gnu_debuglink so the caller can look for a separate debug file. */
static int load_symtab(const char *path, al_symtab *st, elf_hints *hints)
{
    Elf64_Ehdr eh;
    Elf64_Shdr *sh = NULL;
    struct stat sb;
    uint64_t fsize;
    char *shstr = NULL;
    int fd, rc = -1;
    size_t i, shnum;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || pread_all(fd, &eh, sizeof eh, 0) < 0)
        goto out;
    fsize = (uint64_t)sb.st_size;
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64
        || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shoff == 0)
        goto out;
    shnum = eh.e_shnum;
    if (eh.e_shoff > fsize || shnum * sizeof(Elf64_Shdr) > fsize - eh.e_shoff)
        goto out;
    sh = malloc(shnum * sizeof *sh);
    if (sh == NULL || pread_all(fd, sh, shnum * sizeof *sh, eh.e_shoff) < 0)
        goto out;
    for (i = 0; i < shnum; i++)
        if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_link < shnum) {
            if (build_symtab(fd, fsize, &sh[i], &sh[sh[i].sh_link], st) == 0)
                rc = 0;
            break;
        }
    if (rc == 0 || hints == NULL)
        goto out;
    if (eh.e_shstrndx < shnum)
        shstr = read_section(fd, fsize, &sh[eh.e_shstrndx], 1u << 20);
    for (i = 0; i < shnum; i++) {
        char *data;
        if (sh[i].sh_type == SHT_NOTE && hints->build_id_len == 0) {
            data = read_section(fd, fsize, &sh[i], 1u << 16);
            if (data != NULL)
                parse_notes((const unsigned char *)data, (size_t)sh[i].sh_size, hints);
            free(data);
        } else if (shstr != NULL && sh[i].sh_name < sh[eh.e_shstrndx].sh_size
                   && strcmp(shstr + sh[i].sh_name, ".gnu_debuglink") == 0) {
            data = read_section(fd, fsize, &sh[i], 1u << 12);
            if (data != NULL && data[0] != '\0' && strchr(data, '/') == NULL)
                snprintf(hints->debuglink, sizeof hints->debuglink, "%s", data);
            free(data);
        }
    }
out:
    free(shstr);
    free(sh);
    close(fd);
    return rc;
}

/* The symbol table of path's separate debug file, found by build id or
 * debuglink under the usual places. */
static int load_debug_symtab(const char *path, const elf_hints *h, al_symtab *st)
{
    char p[PATH_MAX], real[PATH_MAX], *slash;
    size_t i, len;

    if (h->build_id_len >= 2) {
        len = (size_t)snprintf(p, sizeof p, "/usr/lib/debug/.build-id/%02x/", h->build_id[0]);
        for (i = 1; i < h->build_id_len && len + 3 < sizeof p; i++)
            len += (size_t)snprintf(p + len, sizeof p - len, "%02x", h->build_id[i]);
        if (len + 7 < sizeof p) {
            memcpy(p + len, ".debug", 7);
            if (load_symtab(p, st, NULL) == 0)
                return 0;
        }
    }
    if (h->debuglink[0] == '\0' || realpath(path, real) == NULL || (slash = strrchr(real, '/')) == NULL)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(p, sizeof p, "/usr/lib/debug%s/%s", real, h->debuglink) < sizeof p
        && load_symtab(p, st, NULL) == 0)
        return 0;
    if ((size_t)snprintf(p, sizeof p, "%s/.debug/%s", real, h->debuglink) < sizeof p
        && load_symtab(p, st, NULL) == 0)
        return 0;
    return -1;
}

static const char *symtab_find(const al_symtab *st, uint64_t a)
{
    size_t lo = 0, hi = st->n, k, steps;

    while (lo < hi) {            /* first symbol with value > a */
        size_t mid = lo + (hi - lo) / 2;
        if (st->syms[mid].value <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Candidates end at lo - 1; a few earlier ones may still contain a
     * (a function whose range covers a smaller alias). */
    for (k = lo, steps = 0; k > 0 && steps < 8; k--, steps++) {
        const sym_ent *s = &st->syms[k - 1];
        if (a < s->value + s->size || (s->size == 0 && k == lo))
            return st->strtab + s->name;
    }
    return NULL;
}

/* ---- objects of the process --------------------------------------------- */

typedef struct al_mod {
    uintptr_t lo, hi, bias;
    char *path;              /* NULL when the object has no file name */
    int symtab_state;        /* 0: not loaded yet, 1: loaded, -1: none */
    al_symtab st;
} al_mod;

static al_mod *g_mods;
static size_t g_nmods, g_mods_cap;
static unsigned g_mods_generation;   /* bumped when objects are added */

static char *main_program_path(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return strdup(buf);
}

static int add_mod_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    const char *name = info->dlpi_name;
    size_t i;
    int k;

    for (k = 0; k < info->dlpi_phnum; k++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
        if (ph->p_type != PT_LOAD)
            continue;
        if ((uintptr_t)(info->dlpi_addr + ph->p_vaddr) < lo)
            lo = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
        if ((uintptr_t)(info->dlpi_addr + ph->p_vaddr + ph->p_memsz) > hi)
            hi = (uintptr_t)(info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
    }
    if (lo >= hi)
        return 0;
    for (i = 0; i < g_nmods; i++)
        if (g_mods[i].lo == lo && g_mods[i].hi == hi && g_mods[i].bias == (uintptr_t)info->dlpi_addr)
            return 0;
    if (g_nmods == g_mods_cap) {
        size_t ncap = g_mods_cap ? g_mods_cap * 2 : 64;
        al_mod *nm = realloc(g_mods, ncap * sizeof *nm);
        if (nm == NULL)
            return 1;
        g_mods = nm;
        g_mods_cap = ncap;
    }
    memset(&g_mods[g_nmods], 0, sizeof g_mods[g_nmods]);
    g_mods[g_nmods].lo = lo;
    g_mods[g_nmods].hi = hi;
    g_mods[g_nmods].bias = (uintptr_t)info->dlpi_addr;
    if (name == NULL || name[0] == '\0')
        g_mods[g_nmods].path = main_program_path();
    else if (name[0] == '/')
        g_mods[g_nmods].path = strdup(name);
    else   /* linux-vdso.so.1 and the like: a name, no file */
        g_mods[g_nmods].path = NULL;
    g_nmods++;
    g_mods_generation++;
    return 0;
}

static al_mod *find_mod_in_table(uintptr_t a)
{
    size_t i;

    for (i = g_nmods; i-- > 0;)     /* newest first: an address reused after dlclose */
        if (a >= g_mods[i].lo && a < g_mods[i].hi)
            return &g_mods[i];
    return NULL;
}

static al_mod *find_mod(uintptr_t a)
{
    al_mod *m = find_mod_in_table(a);

    if (m == NULL) {
        dl_iterate_phdr(add_mod_cb, NULL);
        m = find_mod_in_table(a);
    }
    return m;
}

static const char *mod_symbol(al_mod *m, uintptr_t a)
{
    if (m->symtab_state == 0) {
        elf_hints hints;
        memset(&hints, 0, sizeof hints);
        m->symtab_state = -1;
        if (m->path != NULL && (load_symtab(m->path, &m->st, &hints) == 0
                                || load_debug_symtab(m->path, &hints, &m->st) == 0))
            m->symtab_state = 1;
    }
    if (m->symtab_state != 1 || a < m->bias)
        return NULL;
    return symtab_find(&m->st, (uint64_t)(a - m->bias));
}

/* ---- libdw (optional): file and line ------------------------------------ */

typedef void (*al_fn)(void);
typedef struct {             /* Dwfl_Callbacks (libdwfl.h), four pointers */
    al_fn find_elf, find_debuginfo, section_address;
    char **debuginfo_path;
} al_dwfl_callbacks;

static struct {
    int state;               /* 0: not tried, 1: ready, -1: unavailable */
    void *(*begin)(const al_dwfl_callbacks *);
    void (*report_begin)(void *);
    int (*proc_report)(void *, pid_t);
    int (*report_end)(void *, void *, void *);
    void *(*addrmodule)(void *, uint64_t);
    void *(*getsrc)(void *, uint64_t);
    const char *(*lineinfo)(void *, uint64_t *, int *, int *, uint64_t *, uint64_t *);
    const char *(*addrname)(void *, uint64_t);
    void *dwfl;
    pid_t pid;
    unsigned generation;     /* g_mods_generation at the last report */
} g_dw;
static al_dwfl_callbacks g_dw_callbacks;   /* dwfl keeps a pointer to it */

static void dw_report(void)
{
    g_dw.report_begin(g_dw.dwfl);
    g_dw.proc_report(g_dw.dwfl, getpid());
    g_dw.report_end(g_dw.dwfl, NULL, NULL);
    g_dw.pid = getpid();
    g_dw.generation = g_mods_generation;
}

static int dw_ready(void)
{
    void *h;

    if (g_dw.state != 0)
        return g_dw.state > 0;
    g_dw.state = -1;
    h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return 0;
#define DW_SYM(field, name) ((g_dw.field = (__typeof__(g_dw.field))dlsym(h, name)) == NULL)
    if (DW_SYM(begin, "dwfl_begin") || DW_SYM(report_begin, "dwfl_report_begin")
        || DW_SYM(proc_report, "dwfl_linux_proc_report") || DW_SYM(report_end, "dwfl_report_end")
        || DW_SYM(addrmodule, "dwfl_addrmodule") || DW_SYM(getsrc, "dwfl_module_getsrc")
        || DW_SYM(lineinfo, "dwfl_lineinfo") || DW_SYM(addrname, "dwfl_module_addrname"))
        return 0;
#undef DW_SYM
    g_dw_callbacks.find_elf = (al_fn)dlsym(h, "dwfl_linux_proc_find_elf");
    g_dw_callbacks.find_debuginfo = (al_fn)dlsym(h, "dwfl_standard_find_debuginfo");
    if (g_dw_callbacks.find_elf == NULL || g_dw_callbacks.find_debuginfo == NULL)
        return 0;
    g_dw.dwfl = g_dw.begin(&g_dw_callbacks);
    if (g_dw.dwfl == NULL)
        return 0;
    dw_report();
    g_dw.state = 1;
    return 1;
}

/* libdw's module of a (reporting the process's mappings again when objects
 * were loaded since, or after a fork), or NULL. */
static void *dw_module(uintptr_t a)
{
    void *m;

    if (!dw_ready())
        return NULL;
    if (g_dw.pid != getpid())
        dw_report();
    m = g_dw.addrmodule(g_dw.dwfl, (uint64_t)a);
    if (m == NULL && g_dw.generation != g_mods_generation) {
        dw_report();
        m = g_dw.addrmodule(g_dw.dwfl, (uint64_t)a);
    }
    return m;
}

/* ---- resolution --------------------------------------------------------- */

typedef struct { uintptr_t ip; al_json *frame; } ip_ent;
static ip_ent *g_ipc;        /* open addressing, ip 0 = empty */
static size_t g_ipc_cap, g_ipc_count;

static size_t ip_slot(uintptr_t ip, size_t cap)
{
    uint64_t h = (uint64_t)ip * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

static al_json *resolve_ip_uncached(uintptr_t ip)
{
    uintptr_t a = ip - 1;
    al_json *fr = al_json_object();
    const char *sym = NULL, *obj = NULL;
    char hex[2 + 2 * sizeof(uintptr_t) + 1];
    al_mod *m = find_mod(a);
    void *dwm = NULL;
    Dl_info info;

    snprintf(hex, sizeof hex, "0x%" PRIxPTR, ip);
    al_json_set_str(fr, "ip", hex);
    memset(&info, 0, sizeof info);
    if (dladdr((void *)a, &info) != 0 && info.dli_sname != NULL && info.dli_saddr != NULL)
        sym = info.dli_sname;
    if (sym == NULL && m != NULL)
        sym = mod_symbol(m, a);
    if (m != NULL && m->path != NULL)
        obj = m->path;
    else if (info.dli_fname != NULL && info.dli_fname[0] == '/')
        obj = info.dli_fname;
    if (m != NULL || obj != NULL)
        dwm = dw_module(a);
    if (sym == NULL && dwm != NULL)
        sym = g_dw.addrname(dwm, (uint64_t)a);
    al_json_set(fr, "symbol", al_json_string(sym));
    al_json_set(fr, "object", al_json_string(obj));
    if (dwm != NULL) {
        void *line = g_dw.getsrc(dwm, (uint64_t)a);
        int lineno = 0;
        const char *file = line ? g_dw.lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
        if (file != NULL) {
            al_json_set_str(fr, "file", file);
            if (lineno > 0)
                al_json_set_int(fr, "line", lineno);
        }
    }
    return fr;
}

static int ipc_grow(void)
{
    size_t ncap = g_ipc_cap ? g_ipc_cap * 2 : 512, i, j;
    ip_ent *n = calloc(ncap, sizeof *n);

    if (n == NULL)
        return -1;
    for (i = 0; i < g_ipc_cap; i++) {
        if (g_ipc[i].ip == 0)
            continue;
        for (j = ip_slot(g_ipc[i].ip, ncap); n[j].ip != 0; j = (j + 1) & (ncap - 1))
            ;
        n[j] = g_ipc[i];
    }
    free(g_ipc);
    g_ipc = n;
    g_ipc_cap = ncap;
    return 0;
}

/* The resolved frame of ip (borrowed from the cache; a fresh object the
 * caller owns when *owned is set because the cache could not grow). */
static al_json *resolve_ip(uintptr_t ip, int *owned)
{
    size_t j;
    al_json *fr;

    *owned = 0;
    if (g_ipc_cap != 0)
        for (j = ip_slot(ip, g_ipc_cap); g_ipc[j].ip != 0; j = (j + 1) & (g_ipc_cap - 1))
            if (g_ipc[j].ip == ip)
                return g_ipc[j].frame;
    fr = resolve_ip_uncached(ip);
    if (fr == NULL || ((g_ipc_count + 1) * 2 > g_ipc_cap && ipc_grow() < 0)) {
        *owned = 1;
        return fr;
    }
    for (j = ip_slot(ip, g_ipc_cap); g_ipc[j].ip != 0; j = (j + 1) & (g_ipc_cap - 1))
        ;
    g_ipc[j].ip = ip;
    g_ipc[j].frame = fr;
    g_ipc_count++;
    return fr;
}

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

al_json *al_native_resolve(uint32_t id, int hybrid, const al_json *python_frames)
{
    const nat_rec *rec = id >= 1 && id <= g_count ? g_recs[id - 1] : NULL;
    al_json *out = al_json_object(), *native = al_json_array();
    uint32_t i;

    if (out == NULL || native == NULL) {
        al_json_free(out);
        al_json_free(native);
        return NULL;
    }
    for (i = rec ? rec->n : 0; i-- > 0;) {
        int owned;
        al_json *fr = resolve_ip(rec->ips[i], &owned);
        al_json_append(native, owned ? fr : al_json_copy(fr));
    }
    /* main() of an executable whose main is not in any symbol table (e.g.
     * Debian's stripped python3) is the function __libc_start_call_main
     * (glibc 2.34+) or __libc_start_main calls. */
    for (i = 1; i < al_json_len(native); i++) {
        al_json *fr = al_json_at(native, i);
        const char *outer = al_json_get_str(al_json_at(native, i - 1), "symbol");
        if (al_json_get_str(fr, "symbol") == NULL
            && (str_eq(outer, "__libc_start_call_main") || str_eq(outer, "__libc_start_main"))) {
            al_json_set_str(fr, "symbol", "main");
            break;
        }
    }
    al_json_set(out, "native", native);     /* still usable: out owns it */
    if (rec != NULL && rec->truncated)
        al_json_set(out, "native_truncated", al_json_bool(1));
    if (hybrid && rec != NULL)
        al_json_set(out, "hybrid", al_native_merge_hybrid(native, python_frames, rec->truncated));
    return out;
}

int al_native_add_to_stack(al_json *stack, uint32_t id, int hybrid, const al_json *python_frames)
{
    al_json *r;
    size_t i;
    int rc = 0;

    if (id == 0 || stack == NULL)
        return 0;
    r = al_native_resolve(id, hybrid, python_frames);
    if (r == NULL)
        return -1;
    for (i = 0; i < r->u.object.len; i++) {
        if (al_json_set(stack, r->u.object.keys[i], r->u.object.values[i]) < 0)
            rc = -1;
        r->u.object.values[i] = NULL;   /* ownership moved (al_json_free skips NULL) */
    }
    al_json_free(r);
    return rc;
}

/* ---- the hybrid merge ----------------------------------------------------
 *
 * Inputs: the native frames (outermost first) and the Python frames of the
 * same moment (outermost first, untrimmed).
 *
 * 1. Interpreter objects: the object of any frame named
 *    _PyEval_EvalFrameDefault or one of CPython's exported call/eval
 *    functions (k_api_prefixes), and any object whose file name starts with
 *    "libpython".  That is the python executable for Debian's python3
 *    (interpreter linked in), libpython3.X.so for pyenv builds and programs
 *    embedding Python.
 * 2. Frames: _PyEval_EvalFrameDefault is an EVAL frame (it executes Python
 *    frames); any other frame in an interpreter object is INTERP (call
 *    machinery: _PyFunction_Vectorcall, _PyEval_Vector, function_code_fastcall,
 *    method_vectorcall_*, cfunction_*, _PyObject_*Call*, PyObject_Call*,
 *    slot_tp_*, type_call, gen_send_ex*, context_run, PyRun_*, pymain_*, ...;
 *    static or not, named or not), except a frame named main; everything
 *    else (C extensions, Cython modules such as uvloop, _asyncio, libc) is
 *    KEPT.  Frames outside the outermost main() are dropped, and so are the
 *    C runtime's start-up frames (_start, __libc_start_*) when no main() is
 *    on the stack (python3's main() tail-calls Py_BytesMain).
 * 3. Runs: a maximal sequence of EVAL/INTERP frames between KEPT frames is a
 *    run; a run with c >= 1 EVAL frames is replaced by the Python frames it
 *    executed, in order; runs without one are dropped.
 * 4. Which Python frames belong to which run (E = total EVAL frames, P =
 *    Python frames, J = runs with EVAL frames):
 *    - P == E: each EVAL frame executes one Python frame (exact on 3.8-3.10,
 *      where every Python call goes through a new _PyEval_EvalFrameDefault).
 *    - P < E (Python stack cut at stack_depth): aligned innermost first; the
 *      outermost EVAL frames get none.
 *    - P > E (3.11+ runs Python-to-Python calls inside one
 *      _PyEval_EvalFrameDefault): when the native stack was truncated, the
 *      inner runs get one Python frame per EVAL frame and the outermost run
 *      the rest.  Otherwise the boundaries are placed outermost first, each
 *      run keeping at least one frame, at the first place that fits:
 *      (a) before a frame marked "entry": true (a capture that knows where
 *          the interpreter was entered from C may mark it);
 *      (b) when the C frames between the two runs belong to an event loop
 *          (_asyncio's task step, uvloop): after asyncio's Handle._run
 *          (events.py, which calls back through C), else where asyncio's
 *          frames give way to a program frame, else before the first
 *          program frame (the loop resumes a program coroutine or callback);
 *      (c) for other C frames (an extension), at the last boundary: before
 *          the trailing run of asyncio frames (ensure_future/create_task
 *          called from C); elsewhere where asyncio's frames give way to a
 *          program frame;
 *      (d) else right after the run's first frame.
 * 5. Python frames left over (no EVAL frame at all) are appended.
 * 6. Trailing asyncio-internal Python frames are trimmed, as in "frames",
 *    together with trailing frames of an event loop's C code (uvloop's
 *    create_task): the last entry is where the program asked for the task.
 */

enum { NK_KEEP, NK_EVAL, NK_INTERP };

/* Functions only CPython defines (exported API): a frame with one of these
 * names marks its object as the interpreter. */
static const char *const k_api_prefixes[] = {
    "_PyEval_", "PyEval_", "_PyFunction_", "_PyObject_Call", "_PyObject_Vectorcall",
    "_PyObject_FastCall", "_PyObject_MakeTpCall", "PyObject_Call", "PyObject_Vectorcall",
    "_PyVectorcall_", "PyVectorcall_", "_PyCFunction_", "PyCFunction_", "_PyMethodDef_",
    "_PyGen_", "PyIter_Send", "PyContext_Run", "_PyRun_", "PyRun_", "Py_RunMain", "Py_BytesMain",
    "Py_Main", "Py_InitializeEx", "Py_Initialize",
};

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int is_api_symbol(const char *sym)
{
    size_t i;

    if (sym == NULL)
        return 0;
    for (i = 0; i < sizeof k_api_prefixes / sizeof *k_api_prefixes; i++)
        if (starts_with(sym, k_api_prefixes[i]))
            return 1;
    return 0;
}

static int is_libpython(const char *obj)
{
    const char *base = obj ? strrchr(obj, '/') : NULL;

    return obj != NULL && starts_with(base ? base + 1 : obj, "libpython");
}

/* The C runtime's frames outside main(). */
static int is_startup(const char *sym)
{
    return str_eq(sym, "_start") || str_eq(sym, "__libc_start_main") || str_eq(sym, "__libc_start_call_main");
}

static const al_json *frames_array(const al_json *v)
{
    if (v == NULL)
        return NULL;
    if (v->type == AL_JSON_ARRAY)
        return v;
    v = al_json_get(v, "frames");
    return v != NULL && v->type == AL_JSON_ARRAY ? v : NULL;
}

static int py_internal(const al_json *f)
{
    return al_frame_is_asyncio_internal(al_json_get_str(f, "file"));
}

static int py_is_handle_run(const al_json *f)
{
    const char *file = al_json_get_str(f, "file"), *fn = al_json_get_str(f, "function");
    const char *base = file ? strrchr(file, '/') : NULL;
    size_t n = fn ? strlen(fn) : 0;

    return al_frame_is_asyncio_internal(file) && base != NULL && strcmp(base, "/events.py") == 0
        && fn != NULL && (strcmp(fn, "_run") == 0 || (n > 5 && strcmp(fn + n - 5, "._run") == 0));
}

static int py_entry(const al_json *f)
{
    const al_json *e = al_json_get(f, "entry");
    return e != NULL && e->type == AL_JSON_BOOL && e->u.boolean;
}

/* An event loop's C code: _asyncio's task steps, uvloop. */
static int is_loop_object(const char *obj)
{
    const char *base = obj ? strrchr(obj, '/') : NULL;
    return obj != NULL && (starts_with(base ? base + 1 : obj, "_asyncio.") || strstr(obj, "/uvloop/") != NULL);
}

/* The first x in [lo, hi] for which test(py, x) holds, or 0. */
static size_t first_cut(const al_json *py, size_t lo, size_t hi, int (*test)(const al_json *, size_t))
{
    size_t x;
    for (x = lo; x <= hi; x++)
        if (test(py, x))
            return x;
    return 0;
}

static int cut_entry(const al_json *py, size_t x) { return py_entry(al_json_at(py, x)); }
static int cut_after_handle_run(const al_json *py, size_t x) { return py_is_handle_run(al_json_at(py, x - 1)); }
static int cut_into_program(const al_json *py, size_t x)
{
    return py_internal(al_json_at(py, x - 1)) && !py_internal(al_json_at(py, x));
}
static int cut_program(const al_json *py, size_t x) { return !py_internal(al_json_at(py, x)); }

/* Sizes of the nruns groups of np > sum(evals) Python frames (rule 4). */
static void choose_groups(const al_json *py, size_t np, const size_t *evals, const unsigned char *loop_before,
                          size_t nruns, int native_truncated, size_t *sizes)
{
    size_t k, pos = 0, tail_start = np;

    if (native_truncated) {
        size_t inner = 0;
        for (k = nruns; k-- > 1;) {
            sizes[k] = evals[k];
            inner += evals[k];
        }
        sizes[0] = np - inner;
        return;
    }
    while (tail_start > 0 && py_internal(al_json_at(py, tail_start - 1)))
        tail_start--;
    for (k = 0; k + 1 < nruns; k++) {
        size_t lo = pos + 1, hi = np - (nruns - 1 - k), x = first_cut(py, lo, hi, cut_entry);
        if (x == 0 && loop_before[k + 1]) {
            x = first_cut(py, lo, hi, cut_after_handle_run);
            if (x == 0)
                x = first_cut(py, lo, hi, cut_into_program);
            if (x == 0)
                x = first_cut(py, lo, hi, cut_program);
        } else if (x == 0) {
            if (k + 2 == nruns && tail_start >= lo && tail_start <= hi)
                x = tail_start;
            else
                x = first_cut(py, lo, hi, cut_into_program);
        }
        if (x == 0)
            x = lo;
        sizes[k] = x - pos;
        pos = x;
    }
    sizes[nruns - 1] = np - pos;
}

al_json *al_native_merge_hybrid(const al_json *native, const al_json *python_frames,
                                int native_truncated)
{
    const al_json *py = frames_array(python_frames);
    size_t nn = native && native->type == AL_JSON_ARRAY ? al_json_len(native) : 0;
    size_t np = al_json_len(py), ninterp = 0, nruns = 0, start = 0, i, j, r, pi, total = 0;
    unsigned char *kind = calloc(nn + 1, 1);
    const char **interp = calloc(nn + 1, sizeof *interp);
    size_t *run_first = calloc(nn + 1, sizeof *run_first), *evals = calloc(nn + 1, sizeof *evals);
    size_t *sizes = calloc(nn + 1, sizeof *sizes);
    unsigned char *loop_before = calloc(nn + 1, 1);
    al_json *out = al_json_array();
    int loop_seen = 0;

    if (kind == NULL || interp == NULL || run_first == NULL || evals == NULL || sizes == NULL
        || loop_before == NULL || out == NULL) {
        al_json_free(out);
        out = NULL;
        goto done;
    }
    /* 1. interpreter objects */
    for (i = 0; i < nn; i++) {
        const al_json *f = al_json_at(native, i);
        const char *sym = al_json_get_str(f, "symbol"), *obj = al_json_get_str(f, "object");
        if (obj == NULL || !(str_eq(sym, AL_NATIVE_EVAL_FUNCTION) || is_api_symbol(sym) || is_libpython(obj)))
            continue;
        for (j = 0; j < ninterp && strcmp(interp[j], obj) != 0; j++)
            ;
        if (j == ninterp)
            interp[ninterp++] = obj;
    }
    /* 2. classify; frames outside the outermost main() go */
    for (i = 0; i < nn; i++) {
        const al_json *f = al_json_at(native, i);
        const char *sym = al_json_get_str(f, "symbol"), *obj = al_json_get_str(f, "object");
        kind[i] = NK_KEEP;
        if (str_eq(sym, AL_NATIVE_EVAL_FUNCTION)) {
            kind[i] = NK_EVAL;
        } else if (!str_eq(sym, "main")) {
            for (j = 0; obj != NULL && j < ninterp; j++)
                if (strcmp(interp[j], obj) == 0)
                    kind[i] = NK_INTERP;
            if (obj == NULL && is_api_symbol(sym))
                kind[i] = NK_INTERP;
        }
    }
    for (i = 0; i < nn; i++)
        if (str_eq(al_json_get_str(al_json_at(native, i), "symbol"), "main"))
            break;
    if (i < nn)
        start = i;
    else    /* no main() on the stack (python3's main tail-calls Py_BytesMain) */
        while (start < nn && is_startup(al_json_get_str(al_json_at(native, start), "symbol")))
            start++;
    /* 3. runs with EVAL frames */
    for (i = start; i < nn;) {
        size_t c = 0;
        if (kind[i] == NK_KEEP) {
            loop_seen |= is_loop_object(al_json_get_str(al_json_at(native, i), "object"));
            i++;
            continue;
        }
        for (j = i; j < nn && kind[j] != NK_KEEP; j++)
            c += kind[j] == NK_EVAL;
        if (c > 0) {
            run_first[nruns] = i;
            loop_before[nruns] = (unsigned char)loop_seen;
            evals[nruns++] = c;
            total += c;
            loop_seen = 0;
        }
        i = j;
    }
    /* 4. Python frames per run */
    if (nruns > 0) {
        if (np == total) {
            memcpy(sizes, evals, nruns * sizeof *sizes);
        } else if (np < total) {
            size_t left = np;
            for (r = nruns; r-- > 0;) {
                sizes[r] = evals[r] < left ? evals[r] : left;
                left -= sizes[r];
            }
        } else {
            choose_groups(py, np, evals, loop_before, nruns, native_truncated, sizes);
        }
    }
    /* 5. the merged list */
    for (i = start, r = 0, pi = 0; i < nn; i++) {
        if (kind[i] == NK_KEEP) {
            al_json_append(out, al_json_copy(al_json_at(native, i)));
        } else if (r < nruns && run_first[r] == i) {
            for (j = 0; j < sizes[r] && pi < np; j++)
                al_json_append(out, al_json_copy(al_json_at(py, pi++)));
            r++;
        }
    }
    while (pi < np)
        al_json_append(out, al_json_copy(al_json_at(py, pi++)));
    /* 6. trim trailing asyncio machinery (and an event loop's C spawn code) */
    while (out->u.array.len > 0) {
        al_json *last = out->u.array.items[out->u.array.len - 1];
        if (al_json_get(last, "ip") != NULL ? !is_loop_object(al_json_get_str(last, "object")) : !py_internal(last))
            break;
        out->u.array.len--;
        al_json_free(last);
    }
done:
    free(kind);
    free(interp);
    free(run_first);
    free(evals);
    free(sizes);
    free(loop_before);
    return out;
}

void al_native_reset(void)
{
    size_t i;

    for (i = 0; i < g_count; i++) {
        free(g_recs[i]->ips);
        free(g_recs[i]);
    }
    free(g_recs);
    free(g_index);
    g_recs = NULL;
    g_index = NULL;
    g_count = g_cap = 0;
    g_index_cap = 0;
    g_last = 0;
    for (i = 0; i < g_ipc_cap; i++)
        if (g_ipc[i].ip != 0)
            al_json_free(g_ipc[i].frame);
    free(g_ipc);
    g_ipc = NULL;
    g_ipc_cap = g_ipc_count = 0;
}
