/* attach.c - start-up inside a process that is already running Python
 * (`asyncleak attach PID` dlopens the library through gdb).
 *
 * The constructor runs on whatever thread gdb stopped, which may be inside
 * anything and may not hold the GIL, so it only starts a thread.  That
 * thread takes the GIL like any other (PyGILState_Ensure: it gets it as soon
 * as the interpreter's threads release it, e.g. a loop sleeping in select),
 * adds the audit hook, installs the hooks for what is already imported,
 * registers the tasks and resources that already exist (their origin is
 * unknown: "created_before_attach"), and writes a dump report.  From then on
 * the process behaves as if it had been started with the preload.
 */
#include "al.h"
#include "pyapi.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static void *attach_main(void *arg)
{
    PyGILState_STATE gs;
    al_exc_state exc;

    if (al_py_finalizing())
        return NULL;
    gs = PyGILState_Ensure();
    al_exc_save(&exc);
    if (al_in_main_interpreter() && al_bootstrap_add_hook() == 0) {
        if (PyErr_Occurred())
            PyErr_Clear();
        al_bootstrap_install_present();
        if (al_active) {
            int tasks = al_tasks_adopt_existing();
            int resources = al_resources_adopt_existing();
            al_report_dump_tasks();
            al_report_dump_resources();
            al_report_commit(1);
            if (al_opts.verbosity > 0)
                al_diag("attached: %d existing tasks and %d open resources recorded", tasks, resources);
        } else {
            al_diag("attached, but asyncio is not imported yet: hooks go in when it is");
        }
    } else {
        al_diag("attach: cannot add the audit hook; not tracking");
    }
    if (PyErr_Occurred())
        PyErr_Clear();
    al_exc_restore(&exc);
    PyGILState_Release(gs);
    return NULL;
}

void al_attach_start(void)
{
    if (al_start_thread(attach_main, NULL) != 0)
        al_diag("attach: cannot start a thread; not tracking");
}
