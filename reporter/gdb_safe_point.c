/* gdb_safe_point.c - the gdb script that brings a stopped target thread to a
 * safe point before `asyncleak attach` calls setenv, dlopen or the dump
 * request in it.
 *
 * gdb stops the target wherever it is.  Two things make a call from there
 * unsafe:
 *
 *  - The thread is inside the allocator, the dynamic loader, stdio or the
 *    environment functions: those are not reentrant, and a call made from
 *    inside malloc corrupts the heap ("malloc(): mismatching next->prev_size",
 *    SIGABRT).  The script `finish`es the outermost such frame (the thread
 *    runs until that function returns, microseconds) and looks again.
 *
 *  - The thread holds live values in vector registers.  gdb saves the
 *    registers before a call and writes them back after it, and gdb 13 (the
 *    one in Debian 12) reads the AVX-512 part of the register file at the
 *    offsets of Intel's layout: on AMD Zen 4 it reads zeros and writes them
 *    back, so ymm16-31 (which glibc's AVX-512 memcpy, memset and strlen use),
 *    the mask registers and the upper halves of zmm0-15 come back zeroed.
 *    Seen as a segfault: a coroutine's frame, copied by memcpy while gdb
 *    stopped it, became zeros.  The ABI makes every vector register dead at
 *    a call boundary, so the script moves the thread to one: a thread
 *    stopped inside a system call already is (orig_rax is not -1);
 *    otherwise it steps instructions until one call or ret has executed, or
 *    stops in front of a syscall instruction (never steps into a blocking
 *    one).  Functions taking or returning vectors by value in zmm
 *    registers (libmvec) would still lose their upper halves; none is known
 *    to matter here.
 *
 * If the thread is still unsafe after 50 rounds, or no call or return comes
 * within 4,000 instructions (a long loop without calls), gdb detaches and
 * exits AL_GDB_NO_SAFE_POINT without calling anything; when gdb could not
 * attach at all (another tracer, the process gone) it exits
 * AL_GDB_NOT_ATTACHED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gdb_safe_point.h"

#define STR2(x) #x
#define STR(x) STR2(x)

static const char SCRIPT[] =
    "import gdb, re\n"
    "UNSAFE = re.compile(r'^(__libc_|__GI___libc_)?(malloc|free|cfree|calloc|realloc|reallocarray|memalign|'\n"
    "                    r'posix_memalign|aligned_alloc|valloc|pvalloc|malloc_consolidate|sysmalloc)$'\n"
    "                    r'|^_int_|^tcache|^_dl_|^_?dl_open|^_?dl_close|^dl_|^_dl|dlopen|dlclose|dlsym|^_IO_'\n"
    "                    r'|^(__libc_)?fork$|^pthread_create|^(setenv|unsetenv|putenv|__add_to_environ)$')\n"
    "# After one of these has executed the thread stands at a call boundary.\n"
    "BOUNDARY = re.compile(r'^((rep|repz|bnd|notrack|data16)\\s+)*(call|ret)')\n"
    "STEPS = 4000\n"
    "\n"
    "def outermost_unsafe():\n"
    "    found, frame, depth = None, gdb.newest_frame(), 0\n"
    "    while frame is not None and depth < 256:\n"
    "        if UNSAFE.search(frame.name() or ''):\n"
    "            found = frame\n"
    "        try:\n"
    "            frame = frame.older()\n"
    "        except gdb.error:\n"
    "            break\n"
    "        depth += 1\n"
    "    return found\n"
    "\n"
    "def next_instruction():\n"
    "    frame = gdb.newest_frame()\n"
    "    return frame.architecture().disassemble(frame.pc())[0]['asm'].strip()\n"
    "\n"
    "def in_system_call():\n"
    "    try:\n"
    "        return int(gdb.parse_and_eval('$orig_rax')) != -1\n"
    "    except gdb.error:\n"
    "        return False\n"
    "\n"
    "def step_to_boundary():\n"
    "    for _ in range(STEPS):\n"
    "        insn = next_instruction()\n"
    "        if insn.startswith('syscall'):\n"
    "            return True\n"
    "        gdb.execute('stepi', to_string=True)\n"
    "        if BOUNDARY.match(insn):\n"
    "            return True\n"
    "    return False\n"
    "\n"
    "def reach_safe_point():\n"
    "    at_boundary = in_system_call()\n"
    "    for _ in range(50):\n"
    "        frame = outermost_unsafe()\n"
    "        if frame is not None:\n"
    "            print('asyncleak: finishing %s before calling' % frame.name())\n"
    "            frame.select()\n"
    "            gdb.execute('finish', to_string=True)\n"
    "            at_boundary = True\n"
    "        elif at_boundary:\n"
    "            return True\n"
    "        elif step_to_boundary():\n"
    "            at_boundary = True\n"
    "        else:\n"
    "            print('asyncleak: no call or return within %d instructions' % STEPS)\n"
    "            return False\n"
    "    return False\n"
    "\n"
    "if gdb.selected_inferior().pid == 0:\n"
    "    print('asyncleak: gdb did not attach; nothing was called')\n"
    "    gdb.execute('quit " STR(AL_GDB_NOT_ATTACHED) "')\n"
    "try:\n"
    "    safe = reach_safe_point()\n"
    "except gdb.error as e:\n"
    "    print('asyncleak: %s' % e)\n"
    "    safe = False\n"
    "if not safe:\n"
    "    print('asyncleak: the target did not reach a safe point; nothing was called')\n"
    "    gdb.execute('detach')\n"
    "    gdb.execute('quit " STR(AL_GDB_NO_SAFE_POINT) "')\n"
    "gdb.execute('frame 0', to_string=True)\n";

char *al_gdb_safe_point_script(void)
{
    const char *tmpdir = getenv("TMPDIR");
    char *path = NULL;
    int fd;

    if (asprintf(&path, "%s/asyncleak-attach-XXXXXX.py", tmpdir && *tmpdir ? tmpdir : "/tmp") < 0)
        return NULL;
    fd = mkstemps(path, 3);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    if (write(fd, SCRIPT, sizeof SCRIPT - 1) != (ssize_t)(sizeof SCRIPT - 1)) {
        close(fd);
        unlink(path);
        free(path);
        return NULL;
    }
    close(fd);
    return path;
}
