/**
 * Exit status of every `colinux` command (README "Exit status").
 */

/** Done: the guest powered off cleanly, the VM was detached, listed, stopped or killed. */
export const EXIT_OK = 0;
/** The VM failed, or the command could not do its job (see the message). */
export const EXIT_VM_ERROR = 1;
/** Bad usage or configuration. */
export const EXIT_USAGE = 2;
/** The guest kernel panicked. */
export const EXIT_PANIC = 3;
/** No VM of that name is running. */
export const EXIT_NO_VM = 4;
/** `colinux stop`: the guest did not shut down within the timeout and was stopped hard. */
export const EXIT_STOP_FORCED = 5;
