/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Definitions shared by the kernel probe (vigil.bpf.c) and its loader (vigil-capture.c).
 *
 * The probe writes events in the scap event layout (the body of an EV_V2 block), so the event
 * codes below are the capture format's codes (PPME_*), the ones the TypeScript event table
 * (src/capture/scap/event-table.generated.ts) is generated from. test/capture/ebpf.test.ts checks
 * every code and parameter count here against that table.
 */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

/* Event codes (exit events unless noted). Only exit events are emitted: each carries every
 * parameter, which halves the ring-buffer traffic compared with enter+exit pairs. */
#define PPME_SYSCALL_OPEN_X 3
#define PPME_SYSCALL_CLOSE_X 5
#define PPME_SOCKET_SOCKET_X 19
#define PPME_SOCKET_BIND_X 21
#define PPME_SOCKET_CONNECT_X 23
#define PPME_SOCKET_LISTEN_X 25
#define PPME_SOCKET_SENDTO_X 31
#define PPME_SOCKET_SOCKETPAIR_X 43
#define PPME_SOCKET_SENDMSG_X 49
#define PPME_SYSCALL_CREAT_X 59
#define PPME_SYSCALL_PIPE_X 61
#define PPME_SYSCALL_EVENTFD_X 63
#define PPME_SYSCALL_CHDIR_X 95
#define PPME_SYSCALL_FCHDIR_X 97
#define PPME_SYSCALL_SIGNALFD_X 127
#define PPME_SYSCALL_KILL_X 129
#define PPME_SYSCALL_TKILL_X 131
#define PPME_SYSCALL_TGKILL_X 133
#define PPME_SYSCALL_TIMERFD_CREATE_X 137
#define PPME_SYSCALL_INOTIFY_INIT_X 139
#define PPME_SYSCALL_FCNTL_X 151
#define PPME_SYSCALL_PTRACE_X 169
#define PPME_SYSCALL_RENAME_X 175
#define PPME_SYSCALL_RENAMEAT_X 177
#define PPME_SYSCALL_SYMLINK_X 179
#define PPME_SYSCALL_SYMLINKAT_X 181
#define PPME_PROCEXIT_1_E 186 /* an enter-direction event, as in the format */
#define PPME_SYSCALL_SETUID_X 199
#define PPME_SYSCALL_SETGID_X 201
#define PPME_SYSCALL_CLONE_20_X 223
#define PPME_SYSCALL_FORK_20_X 225
#define PPME_SYSCALL_VFORK_20_X 227
#define PPME_SYSCALL_SETNS_X 241
#define PPME_SOCKET_ACCEPT_5_X 247
#define PPME_SYSCALL_MOUNT_X 257
#define PPME_SYSCALL_MKDIR_2_X 277
#define PPME_SYSCALL_RMDIR_2_X 279
#define PPME_SYSCALL_UNSHARE_X 285
#define PPME_SYSCALL_EXECVE_19_X 293
#define PPME_SYSCALL_UNLINK_2_X 301
#define PPME_SYSCALL_UNLINKAT_2_X 303
#define PPME_SYSCALL_MKDIRAT_X 305
#define PPME_SYSCALL_OPENAT_2_X 307
#define PPME_SYSCALL_LINK_2_X 309
#define PPME_SYSCALL_LINKAT_2_X 311
#define PPME_SYSCALL_FCHMODAT_X 313
#define PPME_SYSCALL_CHMOD_X 315
#define PPME_SYSCALL_FCHMOD_X 317
#define PPME_SYSCALL_RENAMEAT2_X 319
#define PPME_SYSCALL_OPENAT2_X 327
#define PPME_SYSCALL_EXECVEAT_X 331
#define PPME_SYSCALL_CLONE3_X 335
#define PPME_SYSCALL_DUP2_X 363
#define PPME_SYSCALL_DUP3_X 365
#define PPME_SYSCALL_DUP_1_X 367
#define PPME_SYSCALL_EPOLL_CREATE_X 375
#define PPME_SYSCALL_EPOLL_CREATE1_X 377
#define PPME_SOCKET_ACCEPT4_6_X 389
#define PPME_SYSCALL_UMOUNT2_X 391
#define PPME_SYSCALL_PIPE2_X 393
#define PPME_SYSCALL_INOTIFY_INIT1_X 395
#define PPME_SYSCALL_EVENTFD2_X 397
#define PPME_SYSCALL_SIGNALFD4_X 399
#define PPME_SYSCALL_MEMFD_CREATE_X 405
#define PPME_SYSCALL_PIDFD_OPEN_X 409
#define PPME_SYSCALL_INIT_MODULE_X 411
#define PPME_SYSCALL_FINIT_MODULE_X 413

/* Syscall numbers are indexes into the probe's tables; x86_64 has fewer than 512. */
#define VIGIL_MAX_SYSCALLS 512

/* Values of the probe's interesting_syscalls filter: every exit, or only the exits that change
 * process or fd state (for syscalls only the state engine needs): successful calls, and for fcntl
 * only the commands that make an fd (F_DUPFD, F_DUPFD_CLOEXEC). */
#define VIGIL_FILTER_ALL 1
#define VIGIL_FILTER_SUCCESS_ONLY 2

/* The scap event header: u64 ts, u64 tid, u32 len, u16 type, u32 nparams (26 bytes, packed).
 * Each ring-buffer record is a u16 cpu id followed by the event: exactly an EV_V2 block body. */
#define VIGIL_EVT_HDR_LEN 26
#define VIGIL_CPU_PREFIX_LEN 2

/* Largest event the probe sends; larger ones are dropped and counted (drops_max_event_size). */
#define VIGIL_MAX_EVENT_SIZE (64 * 1024)

/* Repeated opens (loader --repeats): a thread that opens the same file again and again, with no
 * other event anywhere in between, sends the same openat event each time. Once the agent has seen
 * one such repeat and said that its verdict carries over (it writes the event's per-CPU record
 * number into `consent`), the probe counts further repeats of the run instead of sending them and
 * reports the count in one VIGIL_EV_REPEATS record before the CPU's next record (the loader sends
 * what is left when it stops). See docs/running.md "Repeated opens". */
#define VIGIL_EV_REPEATS 0xFFF0  /* not a scap event type: u64 count, the thread id in the header */
#define VIGIL_REPEATS_SIZE (VIGIL_CPU_PREFIX_LEN + VIGIL_EVT_HDR_LEN + 2 + 8)
#define VIGIL_MAX_CPUS 512       /* CPUs --repeats supports (per-CPU state in global data) */

/* Per-CPU state of repeat suppression, in the probe's global data (one cache line per CPU). The
 * loader writes `consent` and reads `pending` and `suppressed`; the probe owns the rest. */
struct vigil_repeat_cpu {
	__u64 consent;      /* record number (this CPU's `events` count) of a repeat the agent let go */
	__u64 last;         /* record number of this CPU's last openat record, 0 when none */
	__u64 run_start;    /* record number of the first record of the current run of equal opens */
	__u64 pending;      /* repeats counted and not yet reported */
	__u64 suppressed;   /* repeats counted in all */
	__u32 pending_tid;  /* thread of the pending repeats */
	__u32 last_size;    /* size of the last openat record; 0 once anything else was built */
	__u32 half;         /* which scratch area holds the last openat record */
	__u32 pad[3];
};

/* Drop and event counters, one copy per CPU (the loader sums them). */
struct vigil_counters {
	__u64 events;                /* events written to the ring buffer */
	__u64 drops_buffer;          /* ring buffer full: the consumer is too slow */
	__u64 drops_max_event_size;  /* event larger than VIGIL_MAX_EVENT_SIZE */
	__u64 drops_no_scratch;      /* per-CPU scratch buffer missing (should never happen) */
	__u64 skipped_compat;        /* 32-bit (ia32) syscalls, not decoded by this probe */
};

#endif /* VIGIL_EVENTS_H */
