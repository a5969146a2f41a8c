/* Internal to src/threads: helpers shared by threads.c and scan.c. */
#ifndef CTOP_THREADS_INT_H
#define CTOP_THREADS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read a small /proc file into buf (NUL-terminated). Length or -errno. */
int threads_read_small(const char *path, char *buf, size_t len);
/* Where a thread waits: wchan ("" when none), and from .../syscall the
 * syscall number (-1 running / not in a syscall / unknown) and the user
 * sp/pc the kernel saved (0 when unknown). Any output may be NULL. */
void threads_read_wait(pid_t pid, pid_t tid, char state, char *wchan, size_t wlen,
		       long *nr, uint64_t *sp, uint64_t *pc);
/* Detach threads a previous scan interrupted but could not wait for
 * (see scan.c). Cheap when there are none. */
void threads_scan_reap(void);

#endif
