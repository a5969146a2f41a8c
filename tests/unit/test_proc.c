/* Unit tests for the /proc parsers (src/target/proc.c) and, against our own
 * process, the /proc readers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "target.h"
#include "threads.h"

/* A real line from a kernel 6.x (52 fields). */
#define STAT_TAIL " 1234 1234 0 -1 4194560 1000 0 0 0 77 33 0 0 20 0 3 0 987654 " \
	"10000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 " \
	"0 0 0 0 0 0 0 0\n"

static void test_stat_simple(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_proc_stat("1234 (bash) S 1" STAT_TAIL, &st), 0);
	assert_string_equal(st.comm, "bash");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.utime, 77);
	assert_int_equal(st.stime, 33);
	assert_int_equal(st.starttime, 987654);
	assert_int_equal(st.processor, 1);
}

static void test_stat_weird_names(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_proc_stat("7 (a b) (c) R 42" STAT_TAIL, &st), 0);
	assert_string_equal(st.comm, "a b) (c");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 42);
	assert_int_equal(st.utime, 77);

	assert_int_equal(parse_proc_stat("7 ()) S 1" STAT_TAIL, &st), 0);
	assert_string_equal(st.comm, ")");
	assert_int_equal(parse_proc_stat("7 () S 1" STAT_TAIL, &st), 0);
	assert_string_equal(st.comm, "");
	assert_int_equal(parse_proc_stat("7 ( ) ) T 1" STAT_TAIL, &st), 0);
	assert_string_equal(st.comm, " ) ");
	assert_int_equal(st.state, 'T');
	/* name that looks like the fields */
	assert_int_equal(parse_proc_stat("7 (x) R 9 9 9) Z 3" STAT_TAIL, &st), 0);
	assert_string_equal(st.comm, "x) R 9 9 9");
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.ppid, 3);
}

static void test_stat_kthread_flag(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_proc_stat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0 "
					 "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
					 &st), 0);
	assert_true(st.flags & 0x00200000);
	assert_int_equal(st.ppid, 0);
	assert_int_equal(st.processor, 0);
}

static void test_stat_huge(void **state)
{
	struct proc_stat st;
	assert_int_equal(parse_proc_stat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 18446744073709551615 "
					 "18446744073709551614 0 0 20 0 1 0 18446744073709551615\n", &st), 0);
	assert_true(st.utime == UINT64_MAX);
	assert_true(st.stime == UINT64_MAX - 1);
	assert_true(st.starttime == UINT64_MAX);
	assert_int_equal(st.processor, -1);     /* absent */
	/* overflow */
	assert_int_equal(parse_proc_stat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 18446744073709551616 "
					 "0 0 0 20 0 1 0 5\n", &st), -EINVAL);
	/* ppid out of range */
	assert_int_equal(parse_proc_stat("1 (x) R 99999999999 1 1 0 -1 0 0 0 0 0 1 "
					 "0 0 0 20 0 1 0 5\n", &st), -EINVAL);
}

static void test_stat_truncated(void **state)
{
	struct proc_stat st;
	const char *full = "1234 (my prog) S 1" STAT_TAIL;
	size_t n = strlen(full);
	char buf[512];
	int ok = 0;
	size_t st_pos = (size_t)(strstr(full, " 987654 ") - full) + 1;
	/* Every prefix must parse or fail cleanly; prefixes that stop before
	 * starttime (field 22) must fail; a cut inside it cannot be told from
	 * a shorter number, later cuts keep the whole value. */
	for (size_t i = 0; i <= n; i++) {
		memcpy(buf, full, i);
		buf[i] = 0;
		int r = parse_proc_stat(buf, &st);
		assert_true(r == 0 || r == -EINVAL);
		if (i <= st_pos)
			assert_int_equal(r, -EINVAL);
		else
			assert_int_equal(r, 0);
		if (r == 0)
			ok++;
		if (i >= st_pos + 6) {
			assert_int_equal(st.starttime, 987654);
			assert_int_equal(st.utime, 77);
		}
	}
	assert_true(ok > 0);
	assert_int_equal(parse_proc_stat("", &st), -EINVAL);
	assert_int_equal(parse_proc_stat("1234", &st), -EINVAL);
	assert_int_equal(parse_proc_stat("1234 (abc", &st), -EINVAL);
	assert_int_equal(parse_proc_stat("1234 (abc)", &st), -EINVAL);
	assert_int_equal(parse_proc_stat("1234 (abc) S", &st), -EINVAL);
	assert_int_equal(parse_proc_stat("1234 (abc) S 1 2 3", &st), -EINVAL);
	assert_int_equal(parse_proc_stat("(abc) S 1" STAT_TAIL, &st), -EINVAL);
	assert_int_equal(parse_proc_stat("1234 (abc)  S 1" STAT_TAIL, &st), -EINVAL);
	assert_int_equal(parse_proc_stat("1234 (abc) S x" STAT_TAIL, &st), -EINVAL);
	assert_int_equal(parse_proc_stat(NULL, &st), -EINVAL);
}

static void test_stat_long_comm(void **state)
{
	struct proc_stat st;
	char buf[1024];
	char name[200];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = 0;
	snprintf(buf, sizeof buf, "5 (%s) D 1%s", name, STAT_TAIL);
	assert_int_equal(parse_proc_stat(buf, &st), 0);
	assert_int_equal(strlen(st.comm), sizeof st.comm - 1);
	assert_int_equal(st.state, 'D');
}

/* Random garbage and mutations must never crash. */
static void test_stat_garbage(void **state)
{
	struct proc_stat st;
	char buf[300];
	const char *base = "1234 (a) b) S 1" STAT_TAIL;
	srand(1);
	for (int it = 0; it < 20000; it++) {
		size_t n = strlen(base);
		if (n >= sizeof buf)
			n = sizeof buf - 1;
		memcpy(buf, base, n);
		buf[n] = 0;
		int muts = 1 + rand() % 4;
		for (int k = 0; k < muts; k++) {
			size_t pos = (size_t)rand() % n;
			buf[pos] = (char)(1 + rand() % 255);
		}
		if (rand() % 3 == 0)
			buf[rand() % n] = 0;
		int r = parse_proc_stat(buf, &st);
		assert_true(r == 0 || r == -EINVAL);
		assert_true(strlen(st.comm) < sizeof st.comm);
	}
}

static void test_maps(void **state)
{
	struct map_entry m;
	assert_int_equal(parse_maps_line("55d4c8a00000-55d4c8a28000 r--p 00000000 08:01 1835039                    /usr/bin/bash\n", &m), 0);
	assert_true(m.start == 0x55d4c8a00000ULL);
	assert_true(m.end == 0x55d4c8a28000ULL);
	assert_string_equal(m.perms, "r--p");
	assert_true(m.offset == 0);
	assert_true(m.inode == 1835039);
	assert_string_equal(m.path, "/usr/bin/bash");

	/* anonymous: no path, with and without trailing spaces */
	assert_int_equal(parse_maps_line("7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n", &m), 0);
	assert_string_equal(m.path, "");
	assert_int_equal(parse_maps_line("7f0000000000-7f0000021000 rw-p 00000000 00:00 0", &m), 0);
	assert_string_equal(m.path, "");
	assert_true(m.inode == 0);

	assert_int_equal(parse_maps_line("7ffd4b5e6000-7ffd4b5e8000 r-xp 00000000 00:00 0                          [vdso]\n", &m), 0);
	assert_string_equal(m.path, "[vdso]");
	assert_string_equal(m.perms, "r-xp");

	assert_int_equal(parse_maps_line("7f1000000000-7f1000001000 r-xp 0001a000 fd:02 42     /tmp/my dir/lib x.so (deleted)\n", &m), 0);
	assert_string_equal(m.path, "/tmp/my dir/lib x.so (deleted)");
	assert_true(m.offset == 0x1a000);

	/* huge addresses (vsyscall) */
	assert_int_equal(parse_maps_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", &m), 0);
	assert_true(m.start == 0xffffffffff600000ULL);
	assert_true(m.end == 0xffffffffff601000ULL);
	assert_string_equal(m.path, "[vsyscall]");
	/* 64-bit inode */
	assert_int_equal(parse_maps_line("1000-2000 r--s 00000000 00:05 18446744073709551615 /dev/x", &m), 0);
	assert_true(m.inode == UINT64_MAX);
}

static void test_maps_bad(void **state)
{
	struct map_entry m;
	assert_int_equal(parse_maps_line("", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-2000", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-2000 r-", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-2000 r-xp", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-2000 r-xp 0", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-2000 r-xp 0 08", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-2000 r-xp 0 08:01", &m), -EINVAL);
	assert_int_equal(parse_maps_line("2000-1000 r-xp 0 08:01 5 /x", &m), -EINVAL);
	assert_int_equal(parse_maps_line("10000000000000000-2 r-xp 0 08:01 5 /x", &m), -EINVAL);
	assert_int_equal(parse_maps_line("zz-2000 r-xp 0 08:01 5 /x", &m), -EINVAL);
	assert_int_equal(parse_maps_line("1000-2000 r-xp 0 08:01 5x /x", &m), -EINVAL);
	assert_int_equal(parse_maps_line(NULL, &m), -EINVAL);

	/* every prefix, and random mutations */
	const char *full = "7f1000000000-7f1000001000 r-xp 0001a000 fd:02 42     /tmp/a b (deleted)\n";
	char buf[256];
	for (size_t i = 0; i <= strlen(full); i++) {
		memcpy(buf, full, i);
		buf[i] = 0;
		int r = parse_maps_line(buf, &m);
		assert_true(r == 0 || r == -EINVAL);
	}
	srand(2);
	for (int it = 0; it < 20000; it++) {
		strcpy(buf, full);
		size_t n = strlen(buf);
		for (int k = 0; k < 3; k++)
			buf[(size_t)rand() % n] = (char)(1 + rand() % 255);
		int r = parse_maps_line(buf, &m);
		assert_true(r == 0 || r == -EINVAL);
		assert_true(strlen(m.path) < sizeof m.path);
	}
	/* overlong path is cut, not overflowed */
	static char big[10000];
	memset(big, 'p', sizeof big - 1);
	memcpy(big, "1000-2000 r-xp 0 08:01 5 /", 26);
	big[sizeof big - 1] = 0;
	assert_int_equal(parse_maps_line(big, &m), 0);
	assert_int_equal(strlen(m.path), sizeof m.path - 1);
}

static void test_status(void **state)
{
	const char *s = "Name:\tfoo\nState:\tS (sleeping)\nUid:\t1000\t1001\t1002\t1003\n"
			"voluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t5\n";
	assert_int_equal(parse_status_field(s, "voluntary_ctxt_switches"), 1234);
	assert_int_equal(parse_status_field(s, "nonvoluntary_ctxt_switches"), 5);
	assert_int_equal(parse_status_field(s, "Uid"), 1000);
	assert_int_equal(parse_status_field(s, "Gid"), -1);
	assert_int_equal(parse_status_field(s, "Name"), -1);       /* not a number */
	assert_int_equal(parse_status_field(s, "ctxt_switches"), -1); /* no mid-line match */
	assert_int_equal(parse_status_field("", "Uid"), -1);
	assert_int_equal(parse_status_field("Uid:", "Uid"), -1);
	assert_int_equal(parse_status_field("Uid: 99999999999999999999999", "Uid"), -1);
	assert_int_equal(parse_status_field("X:1\nUid: 7", "Uid"), 7);
	assert_int_equal(parse_status_field(NULL, "Uid"), -1);
}

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static void test_live(void **state)
{
	pid_t me = getpid();
	char comm[64];
	assert_true(target_exists(me));
	assert_false(target_exists(-5));
	assert_false(target_exists(0x7ffffff0));
	assert_int_equal(target_is_kernel_thread(me), 0);
	assert_int_equal(target_is_kernel_thread(2), 1);   /* kthreadd */
	assert_true(target_is_kernel_thread(0x7ffffff0) < 0);
	assert_int_equal(target_comm(me, comm, sizeof comm), 0);
	char want[16];
	snprintf(want, sizeof want, "%s", program_invocation_short_name);
	assert_string_equal(comm, want);
	assert_int_equal(target_uid(me), getuid());

	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, sleeper, NULL), 0);
	pid_t *tids;
	int n = target_tasks(me, &tids);
	assert_int_equal(n, 4);
	assert_int_equal(tids[0], me);
	for (int i = 1; i < n; i++)
		assert_true(tids[i] > tids[i - 1]);
	struct proc_stat st;
	/* the new thread needs a moment to reach pause() */
	for (int i = 0; i < 500; i++) {
		assert_int_equal(target_thread_stat(me, tids[1], &st), 0);
		if (st.state == 'S')
			break;
		usleep(10000);
	}
	assert_int_equal(st.state, 'S');
	assert_int_equal(target_thread_stat(me, me, &st), 0);
	assert_int_equal(st.state, 'R');
	free(tids);
	assert_true(target_tasks(0x7ffffff0, &tids) < 0);
	for (int i = 0; i < 3; i++)
		pthread_cancel(th[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
}

/* ---- threads.c against our own threads ---- */

static int block_pipe[2], exit_pipe[2];
static volatile pid_t reader_tid, short_tid;

static void *pipe_reader(void *arg)
{
	char c;
	(void)arg;
	pthread_setname_np(pthread_self(), "reader");
	reader_tid = gettid();
	while (read(block_pipe[0], &c, 1) < 0)
		;
	return NULL;
}

static void *short_lived(void *arg)
{
	(void)arg;
	char c;
	pthread_setname_np(pthread_self(), "shortlived");
	short_tid = gettid();
	while (read(exit_pipe[0], &c, 1) < 0)
		;
	return NULL;
}

static uint64_t my_ticks(pid_t tid)
{
	struct proc_stat st;
	assert_int_equal(target_thread_stat(getpid(), tid, &st), 0);
	return st.utime + st.stime;
}

static const struct thread_info *find_thread(struct threads *t, pid_t tid)
{
	int n;
	const struct thread_info *ti = threads_list(t, &n);
	for (int i = 0; i < n; i++)
		if (ti[i].tid == tid)
			return &ti[i];
	return NULL;
}

static int thread_state_is(pid_t tid, char want)
{
	struct proc_stat st;
	return target_thread_stat(getpid(), tid, &st) == 0 && st.state == want;
}

static void test_threads_refresh(void **state)
{
	pid_t me = getpid();
	struct threads *t = threads_new(me);
	assert_int_equal(pipe(block_pipe), 0);
	assert_int_equal(pipe(exit_pipe), 0);
	pthread_t rd, sl;
	assert_int_equal(pthread_create(&rd, NULL, pipe_reader, NULL), 0);
	assert_int_equal(pthread_create(&sl, NULL, short_lived, NULL), 0);
	for (int i = 0; i < 500 && !(reader_tid && short_tid); i++)
		usleep(10000);     /* both have named themselves */
	pid_t rd_tid = reader_tid, sl_tid = short_tid;
	for (int i = 0; i < 500 && !(thread_state_is(rd_tid, 'S') && thread_state_is(sl_tid, 'S')); i++)
		usleep(10000);

	/* The reader may be seen between its wake-up and its read: refresh
	 * until it is caught blocked in read(), as it spends nearly all its time. */
	const struct thread_info *ti = NULL;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(threads_refresh(t, now_ns()), 3);
		ti = find_thread(t, rd_tid);
		if (ti && ti->state == 'S' && ti->syscall == 0 && ti->wchan[0])
			break;
		usleep(10000);
	}
	assert_non_null(ti);
	assert_string_equal(ti->name, "reader");
	assert_int_equal(ti->state, 'S');
	assert_int_equal(ti->alive, 1);
	assert_int_equal(ti->syscall, 0);          /* read */
	assert_true(ti->wchan[0] != 0);            /* e.g. pipe_read */
	assert_true(ti->vcsw > 0);
	ti = find_thread(t, me);
	assert_int_equal(ti->state, 'R');
	assert_int_equal(ti->syscall, -1);
	assert_string_equal(ti->wchan, "");

	/* CPU%: burn at least 3 ticks between two refreshes */
	uint64_t t0 = my_ticks(me);
	while (my_ticks(me) < t0 + 3)
		;
	/* in two steps (the scanner reads /proc unlocked): collect leaves the
	 * table as the first refresh made it, commit brings the new numbers */
	threads_snap_free(threads_refresh_collect(t, now_ns()));   /* dropped: no effect */
	struct threads_snap *snap = threads_refresh_collect(t, now_ns());
	ti = find_thread(t, me);
	assert_true(ti->cpu_pct == 0);
	assert_int_equal(threads_refresh_commit(t, snap), 3);
	ti = find_thread(t, me);
	assert_true(ti->cpu_pct > 0);
	assert_true(ti->cpu_pct <= 100.0 * 2 + 1);

	/* an exited thread: listed once with alive = 0, named for ever */
	close(exit_pipe[1]);
	pthread_join(sl, NULL);
	close(exit_pipe[0]);
	for (int i = 0; i < 500 && target_thread_stat(me, sl_tid, &(struct proc_stat){0}) == 0; i++)
		usleep(10000);
	assert_int_equal(threads_refresh(t, now_ns()), 2);
	int nl;
	const struct thread_info *all = threads_list(t, &nl);
	assert_int_equal(nl, 3);
	ti = find_thread(t, sl_tid);
	assert_non_null(ti);
	assert_int_equal(ti->alive, 0);
	assert_string_equal(ti->name, "shortlived");
	assert_int_equal(all[nl - 1].tid, sl_tid);   /* alive first */
	assert_true(all[0].alive && all[1].alive && all[0].tid < all[1].tid);
	assert_int_equal(threads_refresh(t, now_ns()), 2);
	assert_null(find_thread(t, sl_tid));
	assert_string_equal(threads_name(t, sl_tid), "shortlived");
	assert_string_equal(threads_name(t, rd_tid), "reader");
	assert_string_equal(threads_name(t, 0x7ffffff0), "");

	close(block_pipe[1]);
	pthread_join(rd, NULL);
	close(block_pipe[0]);
	threads_free(t);

	/* a process that is gone */
	t = threads_new(0x7ffffff0);
	assert_true(threads_refresh(t, now_ns()) < 0);
	assert_true(threads_refresh_commit(t, threads_refresh_collect(t, now_ns())) < 0);
	threads_free(t);
}

static void test_syscall_names(void **state)
{
	assert_string_equal(threads_syscall_name(0), "read");
	assert_string_equal(threads_syscall_name(202), "futex");
	assert_string_equal(threads_syscall_name(232), "epoll_wait");
	assert_null(threads_syscall_name(-1));
	assert_null(threads_syscall_name(100000));
}

/* threads_scan refuses our own process (ptrace cannot trace its own
 * threads) and reports a missing one. */
static void test_scan_args(void **state)
{
	struct scanned_thread *out = (void *)1;
	struct scan_stats st;
	assert_int_equal(threads_scan(getpid(), NULL, NULL, NULL, NULL, &out, &st), -EINVAL);
	assert_null(out);
	assert_int_equal(threads_scan(0x7ffffff0, NULL, NULL, NULL, NULL, &out, &st), -ESRCH);
	assert_null(out);
}

/* A process whose main thread called pthread_exit: /proc/PID/maps is empty,
 * target_read_maps still returns the mappings (from a live thread). */
static void *zombie_leader_thread(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static void test_read_maps_zombie_leader(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pthread_t t;
		close(p[0]);
		pthread_create(&t, NULL, zombie_leader_thread, NULL);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pthread_exit(NULL);
	}
	close(p[1]);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	char path[64], *direct = NULL, *maps = NULL;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)child);
	ssize_t dl = -1;
	for (int i = 0; i < 200; i++) {  /* until the leader is a zombie */
		free(direct);
		direct = NULL;
		dl = read_file(path, &direct);
		if (dl == 0)
			break;
		usleep(10000);
	}
	assert_int_equal(dl, 0);
	ssize_t len = target_read_maps(child, &maps);
	assert_true(len > 0);
	assert_non_null(strstr(maps, "test_proc"));
	free(direct);
	free(maps);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_simple),
		cmocka_unit_test(test_stat_weird_names),
		cmocka_unit_test(test_stat_kthread_flag),
		cmocka_unit_test(test_stat_huge),
		cmocka_unit_test(test_stat_truncated),
		cmocka_unit_test(test_stat_long_comm),
		cmocka_unit_test(test_stat_garbage),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_maps_bad),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_read_maps_zombie_leader),
		cmocka_unit_test(test_threads_refresh),
		cmocka_unit_test(test_syscall_names),
		cmocka_unit_test(test_scan_args),
	};
	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
