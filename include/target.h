/* The target process as /proc shows it: threads, states, maps.
 * The parse_* functions are pure (unit-tested, fuzzed); the rest read /proc. */
#ifndef CTOP_TARGET_H
#define CTOP_TARGET_H

#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
	char comm[64];          /* between the first '(' and the last ')' */
	char state;             /* R S D T t Z X I ... */
	pid_t ppid;
	uint64_t utime, stime;  /* clock ticks */
	uint64_t starttime;     /* clock ticks since boot */
	int processor;          /* CPU last run on */
	unsigned long flags;    /* PF_* (PF_KTHREAD = 0x00200000) */
};
/* Parse the content of /proc/PID[/task/TID]/stat. 0 or -EINVAL. */
int parse_proc_stat(const char *buf, struct proc_stat *st);

struct map_entry {
	uint64_t start, end, offset;
	char perms[5];          /* "r-xp" */
	uint64_t inode;
	char path[4096];        /* may be "", "[vdso]", "/x/y (deleted)" */
};
/* Parse one line of /proc/PID/maps. 0 or -EINVAL. */
int parse_maps_line(const char *line, struct map_entry *m);

/* Parse /proc/PID/task/TID/status "voluntary_ctxt_switches" etc. -1 if absent. */
long parse_status_field(const char *buf, const char *key);
/* The same for lines of several values ("Uid:\t0\t0\t0\t0", "NSpid:\t9\t1"):
 * the n-th (from 0), or the last when n < 0. -1 if absent. */
long parse_status_field_n(const char *buf, const char *key, int n);

int target_exists(pid_t pid);
int target_is_kernel_thread(pid_t pid);   /* 1 yes, 0 no, -errno */
int target_comm(pid_t pid, char *buf, size_t len);  /* process name */
/* All thread ids of pid, sorted. Returns count or -errno; *tids malloc'ed. */
int target_tasks(pid_t pid, pid_t **tids);
int target_thread_stat(pid_t pid, pid_t tid, struct proc_stat *st);
uid_t target_uid(pid_t pid);
/* Content of /proc/PID/maps. When the main thread has exited (a zombie
 * leader after pthread_exit) that file is empty: the maps of a live thread
 * are read instead. Returns length or -errno; *out malloc'ed. */
ssize_t target_read_maps(pid_t pid, char **out);     /* real uid, (uid_t)-1 on error */

#endif
