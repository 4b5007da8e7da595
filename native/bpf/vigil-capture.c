// SPDX-License-Identifier: Apache-2.0
/*
 * vigil-capture: loads Vigil's kernel probe, tells it which syscalls to report, and streams the
 * events it produces as a scap capture.
 *
 * Output (stdout or --output FILE) is a valid scap stream: a section header block, a machine-info
 * block, then one EV_V2 block per event. The same reader decodes it, a scap file and
 * `vigil capture -w` output.
 *
 * Messages go to stderr, one JSON object per line: {"type":"ready",...} once the probe is attached,
 * {"type":"stats",...} periodically and at exit (events and drops read from the kernel counters),
 * {"type":"error","code":...,"message":...} on failure, {"type":"log",...} for libbpf warnings.
 *
 * Buffering: the kernel ring buffer is kept small (at most KERNEL_RING_MAX_MB, 2 MiB) so that the
 * probe writes into memory that is still in cache; a 16 MiB ring costs the traced syscalls about
 * 100 ns more per event on this machine (the lines written are cold). The main thread drains it
 * every 10 ms into a queue in this process, and a writer thread writes the queue out, so a slow
 * reader does not stop the draining: --ringbuf-mb N is the total backlog absorbed before events are
 * dropped (N MiB of queue plus the kernel ring). When the queue is full the main thread stops
 * draining, the kernel ring fills and its drops are counted as before.
 *
 * Flushing (--flush-ms N, default 50): what was drained is handed to the writer every N ms, or as
 * soon as FLUSH_BYTES have gathered. Each hand-over wakes the writer and then the reader; at a few
 * thousand events a second a wake-up costs the reader more than the events it brings, so handing
 * over every 50 ms rather than every 10 ms cut the agent's CPU by about 40% under a light workload
 * (adr/0006, seventh round). It bounds how late an event reaches the reader: about N ms plus one
 * poll. --flush-ms 0 hands over after every poll.
 *
 * Scheduling (--sched, --nice, --sched-pid): the loader's threads, and every thread of the process
 * named by --sched-pid (the agent that reads the stream), can run as SCHED_BATCH and/or at a nice
 * value. A SCHED_BATCH thread that wakes up does not preempt the running one: on a small machine
 * the agent then waits for the next tick or an idle CPU instead of pushing the watched workload
 * off its CPU. Threads started later inherit the setting from their creator; the thread lists
 * are scanned again at every stats report for any that did not.
 *
 * Repeats (--repeats): the probe may count a thread's repeated opens instead of sending them, once
 * the reader consents. The reader writes commands to stdin, one per line: `consent CPU N` (it saw
 * record N of CPU CPU, a repeated open, and its verdict holds for more of the same run) and
 * `revoke` (the verdicts changed: send everything again). The counts arrive as VIGIL_EV_REPEATS
 * records (vigil-events.h); what is still counted when the loader stops is sent then.
 *
 * Exit status: 0 after a clean stop (SIGINT/SIGTERM, --duration-ms, or the reader closing the
 * pipe), 1 on usage errors, 2 when the probe cannot be loaded or attached.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "vigil-events.h"
#include "vigil.skel.h"

/* ------------------------------------------------------------------------------------------ */
/* The syscalls the probe decodes.                                                            */

enum stage_need { NEED_NONE, NEED_CLONE, NEED_EXECVE, NEED_EXECVEAT };

struct syscall_entry {
	const char *name; /* the syscall's (and the scap event's) name */
	int nr;           /* x86_64 syscall number; -1 for procexit, which is a scheduler event */
	const char *prog; /* handler program in vigil.bpf.c */
	int event;        /* scap event code it emits */
	int nparams;      /* parameters it writes */
	enum stage_need stage;
};

static const struct syscall_entry SYSCALLS[] = {
	{"open", SYS_open, "x_open", PPME_SYSCALL_OPEN_X, 6, NEED_NONE},
	{"openat", SYS_openat, "x_openat", PPME_SYSCALL_OPENAT_2_X, 7, NEED_NONE},
	{"openat2", SYS_openat2, "x_openat2", PPME_SYSCALL_OPENAT2_X, 8, NEED_NONE},
	{"creat", SYS_creat, "x_creat", PPME_SYSCALL_CREAT_X, 6, NEED_NONE},
	{"close", SYS_close, "x_close", PPME_SYSCALL_CLOSE_X, 2, NEED_NONE},
	{"dup", SYS_dup, "x_dup", PPME_SYSCALL_DUP_1_X, 2, NEED_NONE},
	{"dup2", SYS_dup2, "x_dup2", PPME_SYSCALL_DUP2_X, 3, NEED_NONE},
	{"dup3", SYS_dup3, "x_dup3", PPME_SYSCALL_DUP3_X, 4, NEED_NONE},
	{"fcntl", SYS_fcntl, "x_fcntl", PPME_SYSCALL_FCNTL_X, 4, NEED_NONE},
	{"pipe", SYS_pipe, "x_pipe", PPME_SYSCALL_PIPE_X, 4, NEED_NONE},
	{"pipe2", SYS_pipe2, "x_pipe2", PPME_SYSCALL_PIPE2_X, 5, NEED_NONE},
	{"eventfd", SYS_eventfd, "x_eventfd", PPME_SYSCALL_EVENTFD_X, 3, NEED_NONE},
	{"eventfd2", SYS_eventfd2, "x_eventfd2", PPME_SYSCALL_EVENTFD2_X, 3, NEED_NONE},
	{"signalfd", SYS_signalfd, "x_signalfd", PPME_SYSCALL_SIGNALFD_X, 4, NEED_NONE},
	{"signalfd4", SYS_signalfd4, "x_signalfd4", PPME_SYSCALL_SIGNALFD4_X, 4, NEED_NONE},
	{"timerfd_create", SYS_timerfd_create, "x_timerfd_create", PPME_SYSCALL_TIMERFD_CREATE_X, 3, NEED_NONE},
	{"inotify_init", SYS_inotify_init, "x_inotify_init", PPME_SYSCALL_INOTIFY_INIT_X, 2, NEED_NONE},
	{"inotify_init1", SYS_inotify_init1, "x_inotify_init1", PPME_SYSCALL_INOTIFY_INIT1_X, 2, NEED_NONE},
	{"epoll_create", SYS_epoll_create, "x_epoll_create", PPME_SYSCALL_EPOLL_CREATE_X, 2, NEED_NONE},
	{"epoll_create1", SYS_epoll_create1, "x_epoll_create1", PPME_SYSCALL_EPOLL_CREATE1_X, 2, NEED_NONE},
	{"pidfd_open", SYS_pidfd_open, "x_pidfd_open", PPME_SYSCALL_PIDFD_OPEN_X, 3, NEED_NONE},
	{"chdir", SYS_chdir, "x_chdir", PPME_SYSCALL_CHDIR_X, 2, NEED_NONE},
	{"fchdir", SYS_fchdir, "x_fchdir", PPME_SYSCALL_FCHDIR_X, 2, NEED_NONE},
	{"unlink", SYS_unlink, "x_unlink", PPME_SYSCALL_UNLINK_2_X, 2, NEED_NONE},
	{"unlinkat", SYS_unlinkat, "x_unlinkat", PPME_SYSCALL_UNLINKAT_2_X, 4, NEED_NONE},
	{"rmdir", SYS_rmdir, "x_rmdir", PPME_SYSCALL_RMDIR_2_X, 2, NEED_NONE},
	{"rename", SYS_rename, "x_rename", PPME_SYSCALL_RENAME_X, 3, NEED_NONE},
	{"renameat", SYS_renameat, "x_renameat", PPME_SYSCALL_RENAMEAT_X, 5, NEED_NONE},
	{"renameat2", SYS_renameat2, "x_renameat2", PPME_SYSCALL_RENAMEAT2_X, 6, NEED_NONE},
	{"link", SYS_link, "x_link", PPME_SYSCALL_LINK_2_X, 3, NEED_NONE},
	{"linkat", SYS_linkat, "x_linkat", PPME_SYSCALL_LINKAT_2_X, 6, NEED_NONE},
	{"symlink", SYS_symlink, "x_symlink", PPME_SYSCALL_SYMLINK_X, 3, NEED_NONE},
	{"symlinkat", SYS_symlinkat, "x_symlinkat", PPME_SYSCALL_SYMLINKAT_X, 4, NEED_NONE},
	{"mkdir", SYS_mkdir, "x_mkdir", PPME_SYSCALL_MKDIR_2_X, 3, NEED_NONE},
	{"mkdirat", SYS_mkdirat, "x_mkdirat", PPME_SYSCALL_MKDIRAT_X, 4, NEED_NONE},
	{"chmod", SYS_chmod, "x_chmod", PPME_SYSCALL_CHMOD_X, 3, NEED_NONE},
	{"fchmod", SYS_fchmod, "x_fchmod", PPME_SYSCALL_FCHMOD_X, 3, NEED_NONE},
	{"fchmodat", SYS_fchmodat, "x_fchmodat", PPME_SYSCALL_FCHMODAT_X, 4, NEED_NONE},
	{"mount", SYS_mount, "x_mount", PPME_SYSCALL_MOUNT_X, 5, NEED_NONE},
	{"umount2", SYS_umount2, "x_umount2", PPME_SYSCALL_UMOUNT2_X, 3, NEED_NONE},
	{"memfd_create", SYS_memfd_create, "x_memfd_create", PPME_SYSCALL_MEMFD_CREATE_X, 3, NEED_NONE},
	{"socket", SYS_socket, "x_socket", PPME_SOCKET_SOCKET_X, 5, NEED_NONE},
	{"socketpair", SYS_socketpair, "x_socketpair", PPME_SOCKET_SOCKETPAIR_X, 8, NEED_NONE},
	{"bind", SYS_bind, "x_bind", PPME_SOCKET_BIND_X, 3, NEED_NONE},
	{"connect", SYS_connect, "x_connect", PPME_SOCKET_CONNECT_X, 4, NEED_NONE},
	{"listen", SYS_listen, "x_listen", PPME_SOCKET_LISTEN_X, 3, NEED_NONE},
	{"accept", SYS_accept, "x_accept", PPME_SOCKET_ACCEPT_5_X, 5, NEED_NONE},
	{"accept4", SYS_accept4, "x_accept4", PPME_SOCKET_ACCEPT4_6_X, 6, NEED_NONE},
	{"sendto", SYS_sendto, "x_sendto", PPME_SOCKET_SENDTO_X, 5, NEED_NONE},
	{"sendmsg", SYS_sendmsg, "x_sendmsg", PPME_SOCKET_SENDMSG_X, 5, NEED_NONE},
	{"setuid", SYS_setuid, "x_setuid", PPME_SYSCALL_SETUID_X, 2, NEED_NONE},
	{"setgid", SYS_setgid, "x_setgid", PPME_SYSCALL_SETGID_X, 2, NEED_NONE},
	{"setns", SYS_setns, "x_setns", PPME_SYSCALL_SETNS_X, 3, NEED_NONE},
	{"unshare", SYS_unshare, "x_unshare", PPME_SYSCALL_UNSHARE_X, 2, NEED_NONE},
	{"kill", SYS_kill, "x_kill", PPME_SYSCALL_KILL_X, 3, NEED_NONE},
	{"tkill", SYS_tkill, "x_tkill", PPME_SYSCALL_TKILL_X, 3, NEED_NONE},
	{"tgkill", SYS_tgkill, "x_tgkill", PPME_SYSCALL_TGKILL_X, 4, NEED_NONE},
	{"ptrace", SYS_ptrace, "x_ptrace", PPME_SYSCALL_PTRACE_X, 5, NEED_NONE},
	{"init_module", SYS_init_module, "x_init_module", PPME_SYSCALL_INIT_MODULE_X, 4, NEED_NONE},
	{"finit_module", SYS_finit_module, "x_finit_module", PPME_SYSCALL_FINIT_MODULE_X, 4, NEED_NONE},
	{"clone", SYS_clone, "x_clone", PPME_SYSCALL_CLONE_20_X, 21, NEED_CLONE},
	{"fork", SYS_fork, "x_fork", PPME_SYSCALL_FORK_20_X, 21, NEED_CLONE},
	{"vfork", SYS_vfork, "x_vfork", PPME_SYSCALL_VFORK_20_X, 21, NEED_CLONE},
	{"clone3", SYS_clone3, "x_clone3", PPME_SYSCALL_CLONE3_X, 21, NEED_CLONE},
	{"execve", SYS_execve, "x_execve", PPME_SYSCALL_EXECVE_19_X, 31, NEED_EXECVE},
	{"execveat", SYS_execveat, "x_execveat", PPME_SYSCALL_EXECVEAT_X, 30, NEED_EXECVEAT},
	{"procexit", -1, "vigil_sched_exit", PPME_PROCEXIT_1_E, 5, NEED_NONE},
};
#define NSYSCALLS (sizeof(SYSCALLS) / sizeof(SYSCALLS[0]))

/* Syscalls whose failed calls change no process or fd state: --success-only may name these. For
 * fcntl it also drops the commands that make no fd (all but F_DUPFD and F_DUPFD_CLOEXEC). */
static const char *const SUCCESS_ONLY_OK[] = {
	"open",      "openat",         "openat2",      "creat",         "close",         "dup",
	"dup2",      "dup3",           "fcntl",        "pipe",          "pipe2",         "eventfd",
	"eventfd2",  "signalfd",       "signalfd4",    "timerfd_create", "inotify_init", "inotify_init1",
	"epoll_create", "epoll_create1", "memfd_create", "pidfd_open",  "chdir",         "fchdir",
	"socket",    "socketpair",     "accept",       "accept4"};

/* Stage programs and their slots in the `stages` prog array (must match vigil.bpf.c). */
static const struct {
	const char *prog;
	int slot;
	enum stage_need need;
} STAGES[] = {
	{"stage_execve_2", 0, NEED_EXECVE},   {"stage_execve_3", 1, NEED_EXECVE},
	{"stage_execveat_2", 2, NEED_EXECVEAT}, {"stage_execveat_3", 3, NEED_EXECVEAT},
	{"stage_clone_2", 4, NEED_CLONE},
};
#define NSTAGES (sizeof(STAGES) / sizeof(STAGES[0]))

/* ------------------------------------------------------------------------------------------ */
/* Messages on stderr.                                                                         */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void emit_error(const char *code, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("{\"type\":\"error\",\"code\":", stderr);
	json_string(stderr, code);
	fprintf(stderr, ",\"errno\":%d,\"message\":", err);
	json_string(stderr, msg);
	fputs("}\n", stderr);
	fflush(stderr);
}

static bool verbose;
/* The last libbpf messages are kept: a verifier rejection is explained there. */
static char last_libbpf[4096];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (verbose) {
		/* Raw and whole: verifier logs are long, and their end is what explains a rejection. */
		vfprintf(stderr, fmt, ap);
		return 0;
	}
	char line[2048];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	if (level != LIBBPF_DEBUG) {
		size_t used = strlen(last_libbpf);
		if (used + n + 2 >= sizeof(last_libbpf))
			used = 0;
		snprintf(last_libbpf + used, sizeof(last_libbpf) - used, "%s%s", used ? "; " : "", line);
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	fputs("{\"type\":\"log\",\"level\":", stderr);
	json_string(stderr, level == LIBBPF_WARN ? "warn" : level == LIBBPF_INFO ? "info" : "debug");
	fputs(",\"message\":", stderr);
	json_string(stderr, line);
	fputs("}\n", stderr);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Output: scap blocks, buffered.                                                              */

#define BLOCK_SHB 0x0A0D0D0A
#define BLOCK_MI 0x201
#define BLOCK_EV_V2 0x216
#define SHB_MAGIC 0x1A2B3C4D
/* The kernel ring is capped at this size (see the header comment); the rest of --ringbuf-mb is the
 * loader's queue. */
#define KERNEL_RING_MAX_MB 2
#define CHUNK_CAP (1024 * 1024)
#define SPARE_CHUNKS 8
/* What the main thread collects before handing it to the writer early, whatever --flush-ms says. */
#define FLUSH_BYTES (256 * 1024)

/* A piece of output: filled by the main thread, written out by the writer thread. */
struct chunk {
	struct chunk *next;
	size_t len, cap;
	unsigned char data[];
};

static volatile sig_atomic_t stop; /* SIGINT or SIGTERM */
static int out_fd = STDOUT_FILENO;
static bool out_broken;      /* the reader went away (set by the writer, read by both) */
static __u64 bytes_written;  /* by the writer */
static struct chunk *cur;    /* being filled by the main thread */

static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_work = PTHREAD_COND_INITIALIZER;  /* a chunk was queued, or the queue closed */
static pthread_cond_t q_space = PTHREAD_COND_INITIALIZER; /* a chunk was written */
static struct chunk *q_head, *q_tail, *q_spare;
static size_t q_bytes, q_cap, q_nspare;
static bool q_closed;
static pthread_t writer;

static bool broken(void) { return __atomic_load_n(&out_broken, __ATOMIC_RELAXED); }

static void *writer_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&q_mu);
		while (!q_head && !q_closed)
			pthread_cond_wait(&q_work, &q_mu);
		struct chunk *c = q_head;
		if (c) {
			q_head = c->next;
			if (!q_head)
				q_tail = NULL;
		}
		pthread_mutex_unlock(&q_mu);
		if (!c)
			return NULL;
		size_t off = 0;
		while (off < c->len && !broken()) {
			ssize_t n = write(out_fd, c->data + off, c->len - off);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				__atomic_store_n(&out_broken, true, __ATOMIC_RELAXED);
				break;
			}
			off += (size_t)n;
		}
		__atomic_add_fetch(&bytes_written, off, __ATOMIC_RELAXED);
		pthread_mutex_lock(&q_mu);
		q_bytes -= c->len;
		/* Full-size chunks are kept for reuse: a fresh 1 MiB allocation is an mmap and 256 page
		 * faults. */
		if (c->cap == CHUNK_CAP && q_nspare < SPARE_CHUNKS) {
			c->next = q_spare;
			q_spare = c;
			q_nspare++;
			c = NULL;
		}
		pthread_cond_signal(&q_space);
		pthread_mutex_unlock(&q_mu);
		free(c);
	}
}

/* Queues the chunk being filled. Waits while the queue is over its cap (the kernel ring then
 * absorbs the backlog, and drops what it cannot hold), except when stopping. */
static void out_push(bool stopping)
{
	if (!cur || cur->len == 0)
		return;
	struct chunk *c = cur;
	cur = NULL;
	pthread_mutex_lock(&q_mu);
	while (!stopping && !stop && q_bytes > 0 && q_bytes + c->len > q_cap && !broken()) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&q_space, &q_mu, &until);
	}
	c->next = NULL;
	if (q_tail)
		q_tail->next = c;
	else
		q_head = c;
	q_tail = c;
	q_bytes += c->len;
	pthread_cond_signal(&q_work);
	pthread_mutex_unlock(&q_mu);
}

/* Hands what was read in this poll to the writer. */
static void out_flush(void) { out_push(false); }

static struct chunk *chunk_new(size_t need)
{
	struct chunk *c = NULL;
	if (need <= CHUNK_CAP) {
		pthread_mutex_lock(&q_mu);
		c = q_spare;
		if (c) {
			q_spare = c->next;
			q_nspare--;
		}
		pthread_mutex_unlock(&q_mu);
	}
	if (!c) {
		size_t cap = need > CHUNK_CAP ? need : CHUNK_CAP;
		c = malloc(sizeof(*c) + cap);
		if (!c) {
			emit_error("read-failed", ENOMEM, "out of memory for the output queue");
			exit(2);
		}
		c->cap = cap;
	}
	c->len = 0;
	c->next = NULL;
	return c;
}

static void out_bytes(const void *p, size_t n)
{
	if (cur && cur->len + n > cur->cap)
		out_push(false);
	if (!cur)
		cur = chunk_new(n);
	memcpy(cur->data + cur->len, p, n);
	cur->len += n;
}

/* Starts the writer thread, with the signals the main thread handles blocked in it. */
static void writer_start(size_t cap)
{
	q_cap = cap;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int e = pthread_create(&writer, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		emit_error("load-failed", e, "cannot start the output thread: %s", strerror(e));
		exit(2);
	}
}

/* Writes out everything queued, then ends the writer. */
static void writer_finish(void)
{
	out_push(true);
	pthread_mutex_lock(&q_mu);
	q_closed = true;
	pthread_cond_signal(&q_work);
	pthread_mutex_unlock(&q_mu);
	pthread_join(writer, NULL);
}

static void out_u32(__u32 v) { out_bytes(&v, 4); }

static void out_block(__u32 type, const void *body, size_t len)
{
	static const unsigned char zeros[4];
	size_t pad = (4 - (len & 3)) & 3;
	__u32 total = (__u32)(8 + len + pad + 4);
	out_u32(type);
	out_u32(total);
	out_bytes(body, len);
	out_bytes(zeros, pad);
	out_u32(total);
}

static void write_header_blocks(void)
{
	struct __attribute__((packed)) {
		__u32 magic;
		__u16 major;
		__u16 minor;
		__u64 section_length;
	} shb = {SHB_MAGIC, 1, 2, (__u64)-1};
	out_block(BLOCK_SHB, &shb, sizeof(shb));

	struct __attribute__((packed)) {
		__u32 num_cpus;
		__u64 memory_size_bytes;
		__u64 max_pid;
		char hostname[128];
		__u64 reserved[4];
	} mi;
	memset(&mi, 0, sizeof(mi));
	mi.num_cpus = (__u32)get_nprocs_conf();
	struct sysinfo si;
	if (sysinfo(&si) == 0)
		mi.memory_size_bytes = (__u64)si.totalram * si.mem_unit;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	if (f) {
		unsigned long long v = 0;
		if (fscanf(f, "%llu", &v) == 1)
			mi.max_pid = v;
		fclose(f);
	}
	gethostname(mi.hostname, sizeof(mi.hostname) - 1);
	out_block(BLOCK_MI, &mi, sizeof(mi));
	out_flush();
}

static __u64 events_seen;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	out_block(BLOCK_EV_V2, data, size);
	events_seen++;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Scheduling of the loader and of the agent (see the header comment).                        */

static int sched_policy = -1; /* SCHED_BATCH or SCHED_OTHER; -1: leave as is */
static int sched_nice = INT_MIN; /* INT_MIN: leave as is */
static pid_t sched_pid;          /* another process whose threads get the same setting, or 0 */

/* Applies the setting to one thread; returns 0 or an errno. */
static int sched_apply_tid(pid_t tid)
{
	if (sched_policy >= 0) {
		struct sched_param sp = {0};
		if (sched_setscheduler(tid, sched_policy, &sp) != 0)
			return errno;
	}
	if (sched_nice != INT_MIN && setpriority(PRIO_PROCESS, (id_t)tid, sched_nice) != 0)
		return errno;
	return 0;
}

/* Applies the setting to every thread of `pid` (/proc/PID/task); returns the threads changed, or
 * -errno when none could be (the first error). A thread that ends meanwhile is not an error. */
static int sched_apply_process(pid_t pid)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int changed = 0, first_err = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		int err = sched_apply_tid((pid_t)atoi(e->d_name));
		if (err == 0)
			changed++;
		else if (err != ESRCH && !first_err)
			first_err = err;
	}
	closedir(d);
	return changed || !first_err ? changed : -first_err;
}

static void sched_apply_all(void)
{
	if (sched_policy < 0 && sched_nice == INT_MIN)
		return;
	sched_apply_process(getpid());
	if (sched_pid)
		sched_apply_process(sched_pid);
}

/* ------------------------------------------------------------------------------------------ */
/* Stats.                                                                                      */

static int ncpus;

static __u64 repeats_suppressed(struct vigil *skel);

static void emit_stats(struct vigil *skel, const char *when)
{
	struct vigil_counters *per = calloc((size_t)ncpus, sizeof(*per));
	struct vigil_counters sum = {0};
	__u32 zero = 0;
	if (per && bpf_map__lookup_elem(skel->maps.counters, &zero, sizeof(zero), per,
					sizeof(*per) * (size_t)ncpus, 0) == 0) {
		for (int i = 0; i < ncpus; i++) {
			sum.events += per[i].events;
			sum.drops_buffer += per[i].drops_buffer;
			sum.drops_max_event_size += per[i].drops_max_event_size;
			sum.drops_no_scratch += per[i].drops_no_scratch;
			sum.skipped_compat += per[i].skipped_compat;
		}
	}
	free(per);
	fprintf(stderr,
		"{\"type\":\"stats\",\"when\":\"%s\",\"events\":%llu,\"delivered\":%llu,\"bytes\":%llu,"
		"\"drops\":{\"buffer\":%llu,\"maxEventSize\":%llu,\"noScratch\":%llu},\"skippedCompat\":%llu,"
		"\"repeats\":%llu}\n",
		when, (unsigned long long)sum.events, (unsigned long long)events_seen,
		(unsigned long long)__atomic_load_n(&bytes_written, __ATOMIC_RELAXED), (unsigned long long)sum.drops_buffer,
		(unsigned long long)sum.drops_max_event_size, (unsigned long long)sum.drops_no_scratch,
		(unsigned long long)sum.skipped_compat, (unsigned long long)repeats_suppressed(skel));
	fflush(stderr);
}

/* ------------------------------------------------------------------------------------------ */

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------ */
/* Repeats: the reader's commands on stdin (see the header comment).                           */

static bool repeats;
static char cmd_buf[4096];
static size_t cmd_len;
static bool cmd_eof;

static void repeats_command(struct vigil *skel, const char *line)
{
	unsigned long cpu = 0;
	unsigned long long n = 0;
	if (strcmp(line, "revoke") == 0) {
		for (int i = 0; i < ncpus && i < VIGIL_MAX_CPUS; i++)
			__atomic_store_n(&skel->bss->repeat_cpus[i].consent, 0, __ATOMIC_RELAXED);
	} else if (sscanf(line, "consent %lu %llu", &cpu, &n) == 2 && cpu < (unsigned long)ncpus &&
		   cpu < VIGIL_MAX_CPUS) {
		__atomic_store_n(&skel->bss->repeat_cpus[cpu].consent, (__u64)n, __ATOMIC_RELAXED);
	} else if (line[0]) {
		fputs("{\"type\":\"log\",\"level\":\"warn\",\"message\":", stderr);
		char msg[160];
		snprintf(msg, sizeof(msg), "ignored an unknown command on stdin: %.100s", line);
		json_string(stderr, msg);
		fputs("}\n", stderr);
	}
}

/* Reads whatever commands stdin holds now, without waiting (poll first: stdin is left blocking,
 * since O_NONBLOCK would also change a terminal it shares with the shell). */
static void repeats_read(struct vigil *skel)
{
	while (!cmd_eof) {
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			break;
		ssize_t got = read(STDIN_FILENO, cmd_buf + cmd_len, sizeof(cmd_buf) - 1 - cmd_len);
		if (got <= 0) {
			if (got == 0 || errno != EINTR)
				cmd_eof = true;
			break;
		}
		cmd_len += (size_t)got;
		cmd_buf[cmd_len] = 0;
		char *line = cmd_buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			repeats_command(skel, line);
			line = nl + 1;
		}
		cmd_len -= (size_t)(line - cmd_buf);
		memmove(cmd_buf, line, cmd_len);
		if (cmd_len == sizeof(cmd_buf) - 1)
			cmd_len = 0; /* a line longer than any command: drop it */
	}
}

/* After the probe is detached: the repeats still counted, one record per CPU. */
static void repeats_flush_all(struct vigil *skel)
{
	for (int i = 0; i < ncpus && i < VIGIL_MAX_CPUS; i++) {
		struct vigil_repeat_cpu *r = &skel->bss->repeat_cpus[i];
		if (!r->pending)
			continue;
		unsigned char rec[VIGIL_REPEATS_SIZE] = {0};
		__u16 cpu = (__u16)i, type = VIGIL_EV_REPEATS, len8 = 8;
		__u64 ts = now_ns(CLOCK_REALTIME), tid = r->pending_tid, count = r->pending;
		__u32 len = VIGIL_REPEATS_SIZE - VIGIL_CPU_PREFIX_LEN, nparams = 1;
		memcpy(rec, &cpu, 2);
		memcpy(rec + 2, &ts, 8);
		memcpy(rec + 10, &tid, 8);
		memcpy(rec + 18, &len, 4);
		memcpy(rec + 22, &type, 2);
		memcpy(rec + 24, &nparams, 4);
		memcpy(rec + 28, &len8, 2);
		memcpy(rec + 30, &count, 8);
		out_block(BLOCK_EV_V2, rec, sizeof(rec));
		r->pending = 0;
	}
}

static __u64 repeats_suppressed(struct vigil *skel)
{
	__u64 sum = 0;
	for (int i = 0; repeats && i < ncpus && i < VIGIL_MAX_CPUS; i++)
		sum += skel->bss->repeat_cpus[i].suppressed;
	return sum;
}

static void on_signal(int sig) { (void)sig; stop = 1; }

static void usage(FILE *f)
{
	fputs("usage: vigil-capture [--syscalls a,b,c | --all] [--success-only a,b] [--output FILE]\n"
	      "                     [--ringbuf-mb N] [--snaplen N] [--stats-ms N] [--flush-ms N] [--duration-ms N]\n"
	      "                     [--kernel-ring-mb N] [--exact-execveat] [--repeats]\n"
	      "                     [--sched normal|batch] [--nice N] [--sched-pid PID]\n"
	      "                     [--check] [--list] [--verbose]\n",
	      f);
}

static const struct syscall_entry *find_syscall(const char *name)
{
	for (size_t i = 0; i < NSYSCALLS; i++)
		if (strcmp(SYSCALLS[i].name, name) == 0)
			return &SYSCALLS[i];
	return NULL;
}

static void list_syscalls(void)
{
	fputs("[", stdout);
	for (size_t i = 0; i < NSYSCALLS; i++)
		printf("%s{\"name\":\"%s\",\"nr\":%d,\"event\":%d,\"nparams\":%d}", i ? "," : "",
		       SYSCALLS[i].name, SYSCALLS[i].nr, SYSCALLS[i].event, SYSCALLS[i].nparams);
	fputs("]\n", stdout);
}

static long parse_num(const char *flag, const char *v, long min, long max)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(v ? v : "", &end, 10);
	if (!v || errno || *end || n < min || n > max) {
		emit_error("bad-args", EINVAL, "%s needs a number between %ld and %ld", flag, min, max);
		exit(1);
	}
	return n;
}

int main(int argc, char **argv)
{
	bool want[NSYSCALLS] = {0};
	bool success_only[NSYSCALLS] = {0};
	bool any = false, check = false, exact_execveat = false;
	const char *output = NULL;
	long ringbuf_mb = 16, kernel_ring_mb = 0, snaplen = 80, stats_ms = 1000, duration_ms = 0;
	long flush_ms = 50;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--list") == 0) {
			list_syscalls();
			return 0;
		} else if (strcmp(a, "--all") == 0) {
			for (size_t k = 0; k < NSYSCALLS; k++)
				want[k] = true;
			any = true;
		} else if (strcmp(a, "--syscalls") == 0 && v) {
			char *copy = strdup(v), *save = NULL;
			for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				const struct syscall_entry *e = find_syscall(tok);
				if (!e) {
					emit_error("bad-args", EINVAL, "unknown or unsupported syscall '%s' (see --list)", tok);
					return 1;
				}
				want[e - SYSCALLS] = true;
				any = true;
			}
			free(copy);
			i++;
		} else if (strcmp(a, "--success-only") == 0 && v) {
			/* Only their successful calls are reported (when captured at all): for syscalls the
			 * caller needs for state only, whose failures change nothing. */
			char *copy = strdup(v), *save = NULL;
			for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				const struct syscall_entry *e = find_syscall(tok);
				bool ok = false;
				for (size_t k = 0; e && k < sizeof(SUCCESS_ONLY_OK) / sizeof(SUCCESS_ONLY_OK[0]); k++)
					ok = ok || strcmp(SUCCESS_ONLY_OK[k], tok) == 0;
				if (!ok) {
					emit_error("bad-args", EINVAL,
						   "--success-only: '%s' is not one of the syscalls whose failures change no state", tok);
					return 1;
				}
				success_only[e - SYSCALLS] = true;
			}
			free(copy);
			i++;
		} else if (strcmp(a, "--output") == 0 && v) {
			output = v;
			i++;
		} else if (strcmp(a, "--ringbuf-mb") == 0) {
			ringbuf_mb = parse_num(a, v, 1, 1024);
			if (ringbuf_mb & (ringbuf_mb - 1)) {
				emit_error("bad-args", EINVAL, "--ringbuf-mb must be a power of two");
				return 1;
			}
			i++;
		} else if (strcmp(a, "--kernel-ring-mb") == 0) {
			/* The kernel part of --ringbuf-mb (default: at most KERNEL_RING_MAX_MB). */
			kernel_ring_mb = parse_num(a, v, 1, 1024);
			if (kernel_ring_mb & (kernel_ring_mb - 1)) {
				emit_error("bad-args", EINVAL, "--kernel-ring-mb must be a power of two");
				return 1;
			}
			i++;
		} else if (strcmp(a, "--snaplen") == 0) {
			snaplen = parse_num(a, v, 0, 4096);
			i++;
		} else if (strcmp(a, "--stats-ms") == 0) {
			stats_ms = parse_num(a, v, 0, 3600000);
			i++;
		} else if (strcmp(a, "--flush-ms") == 0) {
			flush_ms = parse_num(a, v, 0, 1000);
			i++;
		} else if (strcmp(a, "--duration-ms") == 0) {
			duration_ms = parse_num(a, v, 0, 86400000);
			i++;
		} else if (strcmp(a, "--sched") == 0 && v) {
			if (strcmp(v, "batch") == 0)
				sched_policy = SCHED_BATCH;
			else if (strcmp(v, "normal") == 0)
				sched_policy = SCHED_OTHER;
			else {
				emit_error("bad-args", EINVAL, "--sched takes normal or batch");
				return 1;
			}
			i++;
		} else if (strcmp(a, "--nice") == 0) {
			sched_nice = (int)parse_num(a, v, -20, 19);
			i++;
		} else if (strcmp(a, "--sched-pid") == 0) {
			sched_pid = (pid_t)parse_num(a, v, 1, INT_MAX);
			i++;
		} else if (strcmp(a, "--repeats") == 0) {
			repeats = true;
		} else if (strcmp(a, "--exact-execveat") == 0) {
			exact_execveat = true;
		} else if (strcmp(a, "--check") == 0) {
			check = true;
		} else if (strcmp(a, "--verbose") == 0) {
			verbose = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			emit_error("bad-args", EINVAL, "unknown or incomplete option '%s'", a);
			return 1;
		}
	}
	if (!any) {
		for (size_t k = 0; k < NSYSCALLS; k++)
			want[k] = true;
	}

	libbpf_set_print(libbpf_print);
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		emit_error("no-btf", errno, "this kernel exposes no BTF (/sys/kernel/btf/vmlinux): the CO-RE probe needs CONFIG_DEBUG_INFO_BTF=y");
		return 2;
	}
	/* Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK. */
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_MEMLOCK, &rl);

	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		emit_error("load-failed", -ncpus, "cannot count the CPUs");
		return 2;
	}

	struct vigil *skel = vigil__open();
	if (!skel) {
		emit_error("load-failed", errno, "cannot open the probe object: %s", strerror(errno));
		return 2;
	}
	skel->rodata->boot_time_ns = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_BOOTTIME);
	skel->rodata->snaplen = (__u32)snaplen;
	if (repeats && ncpus > VIGIL_MAX_CPUS) {
		fprintf(stderr, "{\"type\":\"log\",\"level\":\"warn\",\"message\":\"--repeats supports up to %d CPUs, "
				"this machine has %d: every repeated open is sent\"}\n", VIGIL_MAX_CPUS, ncpus);
		repeats = false;
	}
	skel->rodata->repeats_enabled = repeats ? 1 : 0;
	bpf_map__set_max_entries(skel->maps.scratch_map, (__u32)ncpus);
	if (!kernel_ring_mb)
		kernel_ring_mb = ringbuf_mb < KERNEL_RING_MAX_MB ? ringbuf_mb : KERNEL_RING_MAX_MB;
	bpf_map__set_max_entries(skel->maps.events, (__u32)(kernel_ring_mb * 1024 * 1024));

	/* Only the requested handlers are loaded (verified): start-up time follows the set. */
	bool need[4] = {true, false, false, false};
	for (size_t k = 0; k < NSYSCALLS; k++) {
		struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, SYSCALLS[k].prog);
		if (p && SYSCALLS[k].nr >= 0)
			bpf_program__set_autoload(p, want[k]);
		if (want[k])
			need[SYSCALLS[k].stage] = true;
	}
	bool want_exit = want[find_syscall("procexit") - SYSCALLS];
	bool want_exec = want[find_syscall("execve") - SYSCALLS];
	bool want_execveat = want[find_syscall("execveat") - SYSCALLS];
	/* A successful execveat leaves the kernel as an execve. Telling them apart costs a program
	 * on every syscall entry (--exact-execveat); by default such events are reported as execve,
	 * as the tracepoint (and Falco's modern probe) report them, so execve must be captured too. */
	if (want_execveat && !exact_execveat) {
		size_t k = (size_t)(find_syscall("execve") - SYSCALLS);
		if (!want[k]) {
			want[k] = true;
			need[SYSCALLS[k].stage] = true;
			bpf_program__set_autoload(bpf_object__find_program_by_name(skel->obj, SYSCALLS[k].prog), true);
			want_exec = true;
		}
	}
	bpf_program__set_autoload(skel->progs.vigil_sched_exit, want_exit);
	bpf_program__set_autoload(skel->progs.vigil_sched_exec, want_exec);
	bpf_program__set_autoload(skel->progs.vigil_execveat_enter, want_execveat && exact_execveat);
	for (size_t k = 0; k < NSTAGES; k++) {
		struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, STAGES[k].prog);
		if (p)
			bpf_program__set_autoload(p, need[STAGES[k].need]);
	}

	int err = vigil__load(skel);
	if (err) {
		int e = errno ? errno : -err;
		const char *code = (e == EPERM || e == EACCES) ? "permission-denied" : "load-failed";
		emit_error(code, e, "the kernel refused the probe (%s)%s%s", strerror(e), last_libbpf[0] ? ": " : "",
			   last_libbpf);
		vigil__destroy(skel);
		return 2;
	}

	/* Fill the handler table and the interesting-syscalls filter. */
	int handlers_fd = bpf_map__fd(skel->maps.syscall_exit_handlers);
	int filter_fd = bpf_map__fd(skel->maps.interesting_syscalls);
	int stages_fd = bpf_map__fd(skel->maps.stages);
	int nsys = 0;
	for (size_t k = 0; k < NSYSCALLS; k++) {
		if (!want[k] || SYSCALLS[k].nr < 0)
			continue;
		struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, SYSCALLS[k].prog);
		__u32 key = (__u32)SYSCALLS[k].nr;
		int fd = bpf_program__fd(p);
		__u8 on = success_only[k] ? VIGIL_FILTER_SUCCESS_ONLY : VIGIL_FILTER_ALL;
		if (bpf_map_update_elem(handlers_fd, &key, &fd, BPF_ANY) ||
		    bpf_map_update_elem(filter_fd, &key, &on, BPF_ANY)) {
			emit_error("load-failed", errno, "cannot register the %s handler: %s", SYSCALLS[k].name,
				   strerror(errno));
			vigil__destroy(skel);
			return 2;
		}
		nsys++;
	}
	for (size_t k = 0; k < NSTAGES; k++) {
		if (!need[STAGES[k].need])
			continue;
		struct bpf_program *p = bpf_object__find_program_by_name(skel->obj, STAGES[k].prog);
		__u32 key = (__u32)STAGES[k].slot;
		int fd = bpf_program__fd(p);
		if (bpf_map_update_elem(stages_fd, &key, &fd, BPF_ANY)) {
			emit_error("load-failed", errno, "cannot register stage %s: %s", STAGES[k].prog, strerror(errno));
			vigil__destroy(skel);
			return 2;
		}
	}

	/* Attach only the entry points; the handlers run by tail call. */
#define NLINKS 4
	struct bpf_link *links[NLINKS] = {NULL};
	struct bpf_program *entry[NLINKS] = {nsys ? skel->progs.vigil_sys_exit : NULL,
					     want_exit ? skel->progs.vigil_sched_exit : NULL,
					     want_exec ? skel->progs.vigil_sched_exec : NULL,
					     want_execveat && exact_execveat ? skel->progs.vigil_execveat_enter : NULL};
	for (int k = 0; k < NLINKS; k++) {
		if (!entry[k])
			continue;
		links[k] = bpf_program__attach(entry[k]);
		if (!links[k]) {
			int e = errno;
			emit_error(e == EPERM || e == EACCES ? "permission-denied" : "attach-failed", e,
				   "cannot attach %s: %s", bpf_program__name(entry[k]), strerror(e));
			for (int j = 0; j < k; j++)
				bpf_link__destroy(links[j]);
			vigil__destroy(skel);
			return 2;
		}
	}

	/* Before the writer thread starts, so that it inherits the setting. A refusal is reported, not
	 * fatal: capture works under any scheduling. */
	if (sched_policy >= 0 || sched_nice != INT_MIN) {
		int self = sched_apply_process(getpid());
		int other = sched_pid ? sched_apply_process(sched_pid) : 0;
		if (self < 0 || other < 0) {
			fputs("{\"type\":\"log\",\"level\":\"warn\",\"message\":", stderr);
			char msg[256];
			snprintf(msg, sizeof(msg), "cannot set the scheduling policy of %s: %s",
				 self < 0 ? "the loader" : "the agent", strerror(self < 0 ? -self : -other));
			json_string(stderr, msg);
			fputs("}\n", stderr);
		}
	}

	fputs("{\"type\":\"ready\",\"syscalls\":[", stderr);
	bool first = true;
	for (size_t k = 0; k < NSYSCALLS; k++) {
		if (!want[k])
			continue;
		fprintf(stderr, "%s\"%s\"", first ? "" : ",", SYSCALLS[k].name);
		first = false;
	}
	fprintf(stderr, "],\"ringbufBytes\":%ld,\"kernelRingBytes\":%ld,\"cpus\":%d,\"pid\":%d}\n",
		ringbuf_mb * 1024 * 1024, kernel_ring_mb * 1024 * 1024, ncpus, getpid());
	fflush(stderr);

	if (check) {
		for (int k = 0; k < NLINKS; k++)
			bpf_link__destroy(links[k]);
		vigil__destroy(skel);
		return 0;
	}

	if (output) {
		out_fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			emit_error("output-failed", errno, "cannot open %s: %s", output, strerror(errno));
			return 2;
		}
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* A pipe of 1 MiB (the default limit for F_SETPIPE_SZ) rather than 64 KiB: the reader takes
	 * bigger batches and both sides wake up less often, which matters on a small machine where the
	 * agent shares CPUs with the workloads it watches. Not a pipe, or refused: no matter. */
	fcntl(out_fd, F_SETPIPE_SZ, 1024 * 1024);
	writer_start((size_t)ringbuf_mb * 1024 * 1024);
	write_header_blocks();
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		emit_error("load-failed", errno, "cannot map the ring buffer: %s", strerror(errno));
		return 2;
	}

	__u64 start = now_ns(CLOCK_MONOTONIC), last_stats = start, last_flush = start;
	while (!stop && !broken()) {
		if (repeats)
			repeats_read(skel);
		/* The probe never wakes us (BPF_RB_NO_WAKEUP): drain every 10 ms. */
		int n = ring_buffer__poll(rb, 10);
		if (n < 0 && n != -EINTR) {
			emit_error("read-failed", -n, "ring buffer poll failed: %s", strerror(-n));
			break;
		}
		ring_buffer__consume(rb);
		__u64 now = now_ns(CLOCK_MONOTONIC);
		if (now - last_flush >= (__u64)flush_ms * 1000000ULL || (cur && cur->len >= FLUSH_BYTES)) {
			out_flush();
			last_flush = now;
		}
		if (stats_ms && now - last_stats >= (__u64)stats_ms * 1000000ULL) {
			emit_stats(skel, "periodic");
			sched_apply_all();
			last_stats = now;
		}
		if (duration_ms && now - start >= (__u64)duration_ms * 1000000ULL)
			break;
	}

	/* Detach first, then drain what is left so nothing already captured is lost. */
	for (int k = 0; k < NLINKS; k++)
		bpf_link__destroy(links[k]);
	ring_buffer__consume(rb);
	if (repeats)
		repeats_flush_all(skel);
	writer_finish();
	emit_stats(skel, "final");
	ring_buffer__free(rb);
	vigil__destroy(skel);
	if (output)
		close(out_fd);
	return 0;
}
