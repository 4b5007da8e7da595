// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Vigil's kernel probe: a libbpf CO-RE program that turns syscall exits (and process exits) into
 * scap-format events in a BPF ring buffer.
 *
 * Shape (the same as Falco's modern probe):
 *   - one dispatcher on the raw `sys_exit` tracepoint (tp_btf: BTF-typed, no tracefs needed);
 *   - filtering in the kernel: the dispatcher looks the syscall number up in `interesting_syscalls`,
 *     an array the loader fills from the loaded rules and the state engine's needs, and returns at
 *     once for anything else;
 *   - one small program per syscall, reached by tail call through `syscall_exit_handlers`
 *     (close and openat, the most frequent, are handled in the dispatcher itself);
 *   - each event is built in a per-CPU scratch buffer, then copied into the ring buffer with its
 *     exact size. Records are `u16 cpu` + the scap event (the body of an EV_V2 block), so user space
 *     only frames them.
 *
 * Only exit events are emitted: they carry every parameter of the syscall (arguments are still in
 * pt_regs at exit; for a successful execve the new image is read from the task instead).
 *
 * Repeated opens (loader --repeats, vigil-events.h): once the reader consents, further openat
 * records equal to the CPU's last one, with nothing else sent anywhere in between, are counted
 * instead of sent (emit_openat, openat_repeats, flush_repeats).
 *
 * The licence string must be GPL-compatible: the probe-read helpers are GPL-only.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "vigil-events.h"

#if !defined(__TARGET_ARCH_x86)
#error "vigil.bpf.c reads syscall arguments from x86_64 pt_regs; build with -D__TARGET_ARCH_x86"
#endif

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* ------------------------------------------------------------------------------------------ */
/* Configuration written by the loader before load (read-only afterwards).                     */

/* Epoch nanoseconds at boot: event times are boot time + CLOCK_BOOTTIME, like scap timestamps. */
const volatile __u64 boot_time_ns = 0;
/* Bytes of I/O buffers (send data, module images) copied into events. */
const volatile __u32 snaplen = 80;
/* Repeated opens are counted instead of sent once the agent consents (loader --repeats). */
const volatile __u8 repeats_enabled = 0;

/* Global data shared with the loader (its skeleton maps it): per-CPU repeat state, and the tag of
 * the last record any CPU put into the ring ((cpu + 1) << 48 | that CPU's record count), by which
 * a CPU knows that nothing else was sent since its own last record. */
struct vigil_repeat_cpu repeat_cpus[VIGIL_MAX_CPUS] __attribute__((aligned(64)));
__u64 last_record __attribute__((aligned(64)));

/* ------------------------------------------------------------------------------------------ */
/* Limits.                                                                                     */

#define SCRATCH_SIZE (2 * VIGIL_MAX_EVENT_SIZE)
/* Every write lands below VIGIL_MAX_EVENT_SIZE + the largest single write, inside SCRATCH_SIZE:
 * this mask is what lets the verifier accept variable write offsets. An event that grows past
 * VIGIL_MAX_EVENT_SIZE wraps over itself and is dropped at submit time. */
#define SAFE(off) ((off) & (VIGIL_MAX_EVENT_SIZE - 1))
#define MAX_PATH 4096
#define MAX_NAME 256
#define MAX_ARGS 4096
#define MAX_SNAPLEN 4096
#define MAX_COMM 16
#define MAX_PATH_COMPONENTS 24
#define MAX_CGROUP_DEPTH 12
/* Work areas in the scratch buffer, past anything an event can reach. Values kept in map memory
 * are not tracked by the verifier, which keeps the number of states it explores small. */
#define SOCKADDR_TMP VIGIL_MAX_EVENT_SIZE       /* a copy of a user sockaddr */
#define PATH_SLOTS (SCRATCH_SIZE - 1024)         /* dentry name pointers of a path being built */
#define CGROUP_SLOTS (SCRATCH_SIZE - 512)        /* kernfs name pointers of a cgroup path */
#define MAX_SOCKADDR 128
#define UNIX_PATH_MAX 108

/* Kernel constants that vmlinux.h (BTF) does not carry. */
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define EINPROGRESS 115
#define TS_COMPAT 0x0002
#define NR_CLOSE 3      /* x86_64 */
#define NR_OPENAT 257   /* x86_64 */
#define NR_EXECVE 59    /* x86_64 */
#define NR_EXECVEAT 322 /* x86_64 */
#define NR_FCNTL 72     /* x86_64 */
#define PF_KTHREAD 0x00200000
#define FMODE_CREATED 0x100000
#define RLIMIT_NOFILE 7
#define PAGE_SHIFT 12
#define MS_MGC_MSK 0xffff0000
#define MS_MGC_VAL 0xC0ED0000
#define S_IWUSR 00200
#define S_IWGRP 00020
#define S_IWOTH 00002
#define CAP_DAC_OVERRIDE 1

/* scap flag values (ppm_events_public.h). */
#define PPM_O_RDONLY (1 << 0)
#define PPM_O_WRONLY (1 << 1)
#define PPM_O_RDWR (PPM_O_RDONLY | PPM_O_WRONLY)
#define PPM_O_CREAT (1 << 2)
#define PPM_O_APPEND (1 << 3)
#define PPM_O_DSYNC (1 << 4)
#define PPM_O_EXCL (1 << 5)
#define PPM_O_NONBLOCK (1 << 6)
#define PPM_O_SYNC (1 << 7)
#define PPM_O_TRUNC (1 << 8)
#define PPM_O_DIRECT (1 << 9)
#define PPM_O_DIRECTORY (1 << 10)
#define PPM_O_LARGEFILE (1 << 11)
#define PPM_O_CLOEXEC (1 << 12)
#define PPM_O_TMPFILE (1 << 13)
#define PPM_O_F_CREATED (1 << 14)
#define PPM_EPOLL_CLOEXEC (1 << 0)
#define PPM_EXE_WRITABLE (1 << 0)
#define PPM_EXE_FROM_MEMFD (1 << 2)
#define PPM_PTRACE_IDX_UINT64 0
#define PPM_PTRACE_IDX_SIGTYPE 1

/* ------------------------------------------------------------------------------------------ */
/* Maps.                                                                                       */

struct scratch {
	__u8 data[SCRATCH_SIZE];
	__u32 pos;  /* next payload byte */
	__u32 lpos; /* next slot of the parameter-length array */
};

/* One scratch buffer per CPU (max_entries is set to the CPU count by the loader): a per-CPU
 * array cannot hold values this large. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vigil_counters);
} counters SEC(".maps");

/* The in-kernel filter, per syscall number: VIGIL_FILTER_ALL for those the loaded rules need,
 * VIGIL_FILTER_SUCCESS_ONLY for those only the state engine needs, 0 for the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIGIL_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u8);
} interesting_syscalls SEC(".maps");

/* Per-syscall programs, indexed by syscall number (filled by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, VIGIL_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u32);
} syscall_exit_handlers SEC(".maps");

/* Second and third stages of the large events (execve, execveat, clone family). */
#define STAGE_EXECVE_2 0
#define STAGE_EXECVE_3 1
#define STAGE_EXECVEAT_2 2
#define STAGE_EXECVEAT_3 3
#define STAGE_CLONE_2 4
#define STAGE_COUNT 5
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, STAGE_COUNT);
	__type(key, __u32);
	__type(value, __u32);
} stages SEC(".maps");

/* The path a successful execve ran, saved by sched_process_exec (the caller's memory is gone by
 * the time the syscall returns). Keyed by thread id. */
struct exec_path {
	char path[MAX_PATH];
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct exec_path);
} exec_paths SEC(".maps");

/* Threads inside execveat. A successful execveat reaches the syscall exit with the execve number
 * (the kernel rewrites it while loading the new image), so the entry is marked here to report the
 * exit as what it was. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} execveat_pending SEC(".maps");

/* ------------------------------------------------------------------------------------------ */
/* CO-RE flavours for fields renamed across kernel versions.                                   */

struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

struct inode___v611 {
	time64_t i_ctime_sec;
	time64_t i_mtime_sec;
	__u32 i_ctime_nsec;
	__u32 i_mtime_nsec;
} __attribute__((preserve_access_index));
struct inode___v66 {
	struct timespec64 __i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));
struct inode___old {
	struct timespec64 i_ctime;
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));
struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));
struct mm_struct___pcpu {
	struct percpu_counter rss_stat[4];
} __attribute__((preserve_access_index));

/* ------------------------------------------------------------------------------------------ */
/* Event building.                                                                             */

static __always_inline struct scratch *scratch_get(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&scratch_map, &cpu);
}

static __always_inline struct vigil_counters *counters_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

/* Offsets in a record: u16 cpu, then the packed scap header u64 ts, u64 tid, u32 len, u16 type,
 * u32 nparams. Written with plain (unaligned) stores: a packed struct would make clang emit one
 * store per byte, and x86 has no alignment constraint. */
#define OFF_TS 2
#define OFF_TID 10
#define OFF_LEN 18
#define OFF_TYPE 22
#define OFF_NPARAMS 24

/* ------------------------------------------------------------------------------------------ */
/* Records and repeats.                                                                        */

static __always_inline struct vigil_repeat_cpu *repeat_cpu(__u32 cpu)
{
	if (!repeats_enabled || cpu >= VIGIL_MAX_CPUS)
		return NULL;
	return &repeat_cpus[cpu];
}

static __always_inline __u64 record_tag(__u32 cpu, __u64 n) { return ((__u64)(cpu + 1) << 48) | n; }

/* A record of this CPU went into the ring: count it; with repeats on, it is now the last record. */
static __always_inline void note_record(__u32 cpu, struct vigil_counters *c)
{
	c->events++;
	if (repeats_enabled)
		*(volatile __u64 *)&last_record = record_tag(cpu, c->events);
}

/* Reports the repeats counted on this CPU, before the CPU's next record. Kept pending when the
 * ring is full: a later record reports them. */
static __always_inline void flush_repeats(__u32 cpu, struct vigil_repeat_cpu *r, struct vigil_counters *c,
					  __u64 ts)
{
	__u8 *p = bpf_ringbuf_reserve(&events, VIGIL_REPEATS_SIZE, 0);
	if (!p)
		return;
	*(__u16 *)&p[0] = (__u16)cpu;
	*(__u64 *)&p[OFF_TS] = ts;
	*(__u64 *)&p[OFF_TID] = r->pending_tid;
	*(__u32 *)&p[OFF_LEN] = VIGIL_REPEATS_SIZE - VIGIL_CPU_PREFIX_LEN;
	*(__u16 *)&p[OFF_TYPE] = VIGIL_EV_REPEATS;
	*(__u32 *)&p[OFF_NPARAMS] = 1;
	*(__u16 *)&p[VIGIL_CPU_PREFIX_LEN + VIGIL_EVT_HDR_LEN] = 8;
	*(__u64 *)&p[VIGIL_CPU_PREFIX_LEN + VIGIL_EVT_HDR_LEN + 2] = r->pending;
	bpf_ringbuf_submit(p, BPF_RB_NO_WAKEUP);
	r->pending = 0;
	note_record(cpu, c);
}

static __always_inline void ev_begin(struct scratch *s, __u16 type, __u32 nparams)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct vigil_repeat_cpu *r = repeat_cpu(cpu);
	/* Anything built here may overwrite what a repeat would be compared with. */
	if (r)
		r->last_size = 0;
	*(__u16 *)&s->data[0] = (__u16)cpu;
	*(__u64 *)&s->data[OFF_TS] = boot_time_ns + bpf_ktime_get_boot_ns();
	*(__u64 *)&s->data[OFF_TID] = (__u32)bpf_get_current_pid_tgid();
	*(__u16 *)&s->data[OFF_TYPE] = type;
	*(__u32 *)&s->data[OFF_NPARAMS] = nparams;
	s->lpos = VIGIL_CPU_PREFIX_LEN + VIGIL_EVT_HDR_LEN;
	s->pos = s->lpos + nparams * sizeof(__u16);
}

static __always_inline void ev_submit(struct scratch *s)
{
	struct vigil_counters *c = counters_get();
	if (!c)
		return;
	__u32 size = s->pos;
	if (size > VIGIL_MAX_EVENT_SIZE) {
		c->drops_max_event_size++;
		return;
	}
	*(__u32 *)&s->data[OFF_LEN] = size - VIGIL_CPU_PREFIX_LEN;
	__u32 cpu = *(__u16 *)&s->data[0];
	struct vigil_repeat_cpu *r = repeat_cpu(cpu);
	if (r && r->pending)
		flush_repeats(cpu, r, c, *(__u64 *)&s->data[OFF_TS]);
	/* No wake-up: waking the reader costs an interrupt per event; the loader polls every 10 ms,
	 * which the ring buffer (16 MiB by default) absorbs at any realistic rate. */
	if (bpf_ringbuf_output(&events, s->data, size, BPF_RB_NO_WAKEUP))
		c->drops_buffer++;
	else
		note_record(cpu, c);
}

static __always_inline void put_len(struct scratch *s, __u16 len)
{
	*(__u16 *)&s->data[SAFE(s->lpos)] = len;
	s->lpos += sizeof(__u16);
}

#define W(s, T, v)                                                  \
	do {                                                        \
		*(T *)&(s)->data[SAFE((s)->pos)] = (T)(v);          \
		(s)->pos += sizeof(T);                              \
	} while (0)

static __always_inline void p_empty(struct scratch *s) { put_len(s, 0); }
static __always_inline void p_u8(struct scratch *s, __u8 v) { W(s, __u8, v); put_len(s, 1); }
static __always_inline void p_u16(struct scratch *s, __u16 v) { W(s, __u16, v); put_len(s, 2); }
static __always_inline void p_u32(struct scratch *s, __u32 v) { W(s, __u32, v); put_len(s, 4); }
static __always_inline void p_s32(struct scratch *s, __s32 v) { W(s, __s32, v); put_len(s, 4); }
static __always_inline void p_u64(struct scratch *s, __u64 v) { W(s, __u64, v); put_len(s, 8); }
static __always_inline void p_s64(struct scratch *s, __s64 v) { W(s, __s64, v); put_len(s, 8); }

/* Copies a NUL-terminated user string (with its NUL); returns the bytes written, 0 on failure. */
static __always_inline __u16 w_user_str(struct scratch *s, unsigned long ptr, __u32 max)
{
	if (!ptr)
		return 0;
	long n = bpf_probe_read_user_str(&s->data[SAFE(s->pos)], max, (const void *)ptr);
	if (n <= 0)
		return 0;
	s->pos += n;
	return n;
}

static __always_inline __u16 w_kernel_str(struct scratch *s, const void *ptr, __u32 max)
{
	if (!ptr)
		return 0;
	long n = bpf_probe_read_kernel_str(&s->data[SAFE(s->pos)], max, ptr);
	if (n <= 0)
		return 0;
	s->pos += n;
	return n;
}

static __always_inline void p_user_str(struct scratch *s, unsigned long ptr, __u32 max)
{
	put_len(s, w_user_str(s, ptr, max));
}

/* Copies `len` bytes of user memory (clamped to `max`, a power of two). */
static __always_inline void p_user_buf(struct scratch *s, unsigned long ptr, __u64 len, __u32 max)
{
	if (!ptr || len == 0) {
		p_empty(s);
		return;
	}
	if (len > max)
		len = max;
	__u32 n = (__u32)len & (2 * max - 1);
	if (n > max)
		n = max;
	if (bpf_probe_read_user(&s->data[SAFE(s->pos)], n, (const void *)ptr)) {
		p_empty(s);
		return;
	}
	s->pos += n;
	put_len(s, n);
}

/* ------------------------------------------------------------------------------------------ */
/* Syscall arguments (x86_64) and flag conversions.                                           */

#define ARG0(r) ((unsigned long)(r)->di)
#define ARG1(r) ((unsigned long)(r)->si)
#define ARG2(r) ((unsigned long)(r)->dx)
#define ARG3(r) ((unsigned long)(r)->r10)
#define ARG4(r) ((unsigned long)(r)->r8)
/* An int argument (fd, pid), sign-extended to the 64-bit scap representation. */
#define IARG(v) ((__s64)(__s32)(v))

#define L_O_WRONLY 01
#define L_O_RDWR 02
#define L_O_CREAT 0100
#define L_O_EXCL 0200
#define L_O_TRUNC 01000
#define L_O_APPEND 02000
#define L_O_NONBLOCK 04000
#define L_O_DSYNC 010000
#define L_O_DIRECT 040000
#define L_O_LARGEFILE 0100000
#define L_O_DIRECTORY 0200000
#define L_O_CLOEXEC 02000000
#define L_O_SYNC 04010000
#define L_O_TMPFILE 020200000

static __always_inline __u32 open_flags_to_scap(unsigned long f)
{
	__u32 r = 0;
	switch (f & (L_O_WRONLY | L_O_RDWR)) {
	case L_O_WRONLY:
		r |= PPM_O_WRONLY;
		break;
	case L_O_RDWR:
		r |= PPM_O_RDWR;
		break;
	default:
		r |= PPM_O_RDONLY;
	}
	if (f & L_O_CREAT)
		r |= PPM_O_CREAT;
	if ((f & L_O_TMPFILE) == L_O_TMPFILE)
		r |= PPM_O_TMPFILE;
	if (f & L_O_APPEND)
		r |= PPM_O_APPEND;
	if (f & L_O_DSYNC)
		r |= PPM_O_DSYNC;
	if (f & L_O_EXCL)
		r |= PPM_O_EXCL;
	if (f & L_O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	if ((f & L_O_SYNC) == L_O_SYNC)
		r |= PPM_O_SYNC;
	if (f & L_O_TRUNC)
		r |= PPM_O_TRUNC;
	if (f & L_O_DIRECT)
		r |= PPM_O_DIRECT;
	if (f & L_O_DIRECTORY)
		r |= PPM_O_DIRECTORY;
	if (f & L_O_LARGEFILE)
		r |= PPM_O_LARGEFILE;
	if (f & L_O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	return r;
}

/* The scap mode bits are the Linux permission bits; the mode is only meaningful with O_CREAT
 * or O_TMPFILE, and is reported as 0 otherwise. */
static __always_inline __u32 open_mode_to_scap(unsigned long flags, unsigned long mode)
{
	if (!(flags & (L_O_CREAT | L_O_TMPFILE)))
		return 0;
	return mode & 07777;
}

static __always_inline __u32 clone_flags_to_scap(unsigned long f)
{
	__u32 r = 0;
	if (f & 0x00000400) r |= 1 << 0;   /* CLONE_FILES */
	if (f & 0x00000200) r |= 1 << 1;   /* CLONE_FS */
	if (f & 0x80000000) r |= 1 << 2;   /* CLONE_IO */
	if (f & 0x08000000) r |= 1 << 3;   /* CLONE_NEWIPC */
	if (f & 0x40000000) r |= 1 << 4;   /* CLONE_NEWNET */
	if (f & 0x00020000) r |= 1 << 5;   /* CLONE_NEWNS */
	if (f & 0x20000000) r |= 1 << 6;   /* CLONE_NEWPID */
	if (f & 0x04000000) r |= 1 << 7;   /* CLONE_NEWUTS */
	if (f & 0x00008000) r |= 1 << 8;   /* CLONE_PARENT */
	if (f & 0x00100000) r |= 1 << 9;   /* CLONE_PARENT_SETTID */
	if (f & 0x00002000) r |= 1 << 10;  /* CLONE_PTRACE */
	if (f & 0x00000800) r |= 1 << 11;  /* CLONE_SIGHAND */
	if (f & 0x00040000) r |= 1 << 12;  /* CLONE_SYSVSEM */
	if (f & 0x00010000) r |= 1 << 13;  /* CLONE_THREAD */
	if (f & 0x00800000) r |= 1 << 14;  /* CLONE_UNTRACED */
	if (f & 0x00000100) r |= 1 << 15;  /* CLONE_VM */
	if (f & 0x10000000) r |= 1 << 20;  /* CLONE_NEWUSER */
	if (f & 0x00200000) r |= 1 << 23;  /* CLONE_CHILD_CLEARTID */
	if (f & 0x01000000) r |= 1 << 24;  /* CLONE_CHILD_SETTID */
	if (f & 0x00080000) r |= 1 << 25;  /* CLONE_SETTLS */
	if (f & 0x00004000) r |= 1 << 27;  /* CLONE_VFORK */
	if (f & 0x02000000) r |= 1 << 28;  /* CLONE_NEWCGROUP */
	return r;
}

static __always_inline __u16 ptrace_request_to_scap(unsigned long req)
{
	/* PTRACE_TRACEME..PTRACE_SINGLESTEP (0..9) are the scap values minus one. */
	if (req <= 9)
		return req + 1;
	switch (req) {
	case 12: return 26;      /* GETREGS */
	case 13: return 27;      /* SETREGS */
	case 14: return 28;      /* GETFPREGS */
	case 15: return 29;      /* SETFPREGS */
	case 16: return 11;      /* ATTACH */
	case 17: return 12;      /* DETACH */
	case 18: return 30;      /* GETFPXREGS */
	case 19: return 31;      /* SETFPXREGS */
	case 21: return 32;      /* OLDSETOPTIONS */
	case 24: return 13;      /* SYSCALL */
	case 25: return 33;      /* GET_THREAD_AREA */
	case 26: return 34;      /* SET_THREAD_AREA */
	case 30: return 35;      /* ARCH_PRCTL */
	case 31: return 36;      /* SYSEMU */
	case 32: return 37;      /* SYSEMU_SINGLESTEP */
	case 33: return 38;      /* SINGLEBLOCK */
	case 0x4200: return 14;  /* SETOPTIONS */
	case 0x4201: return 15;  /* GETEVENTMSG */
	case 0x4202: return 16;  /* GETSIGINFO */
	case 0x4203: return 17;  /* SETSIGINFO */
	case 0x4204: return 18;  /* GETREGSET */
	case 0x4205: return 19;  /* SETREGSET */
	case 0x4206: return 20;  /* SEIZE */
	case 0x4207: return 21;  /* INTERRUPT */
	case 0x4208: return 22;  /* LISTEN */
	case 0x4209: return 23;  /* PEEKSIGINFO */
	case 0x420a: return 24;  /* GETSIGMASK */
	case 0x420b: return 25;  /* SETSIGMASK */
	default: return 0;       /* PTRACE_UNKNOWN */
	}
}

static __always_inline __u32 openat2_resolve_to_scap(__u64 f)
{
	__u32 r = 0;
	if (f & 0x01) r |= 1 << 4; /* RESOLVE_NO_XDEV */
	if (f & 0x02) r |= 1 << 2; /* RESOLVE_NO_MAGICLINKS */
	if (f & 0x04) r |= 1 << 3; /* RESOLVE_NO_SYMLINKS */
	if (f & 0x08) r |= 1 << 0; /* RESOLVE_BENEATH */
	if (f & 0x10) r |= 1 << 1; /* RESOLVE_IN_ROOT */
	if (f & 0x20) r |= 1 << 5; /* RESOLVE_CACHED */
	return r;
}

/* new_encode_dev(): the 32-bit device number user space sees in stat(2). */
static __always_inline __u32 encode_dev(__u32 kdev)
{
	__u32 major = kdev >> 20, minor = kdev & 0xfffff;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading kernel state.                                                                       */

/* Turns a kernel address into a read-only BTF pointer: loads through it are single instructions
 * the kernel guards with its exception table, where each BPF_CORE_READ is a helper call
 * (copy_from_kernel_nofault). On the openat path that was six calls per event. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define KCAST(ptr, type) ((type *)bpf_rdonly_cast((const void *)(ptr), bpf_core_type_id_kernel(type)))

/* `t` is the current task (bpf_get_current_task_btf). */
static __always_inline struct file *task_fd_file(struct task_struct *t, __s64 fd)
{
	if (fd < 0)
		return NULL;
	/* Direct loads through the BTF-typed task. The slot is at a variable offset, which the
	 * verifier refuses on BTF pointers: its address is cast to a type whose first member is
	 * pointer-sized (list_head, stable across kernels) and that member is loaded. */
	struct fdtable *fdt = t->files->fdt;
	unsigned int max = fdt->max_fds;
	if ((__u64)fd >= max)
		return NULL;
	struct list_head *slot = KCAST((unsigned long)fdt->fd + (__u64)fd * sizeof(void *), struct list_head);
	unsigned long f = (unsigned long)slot->next;
	if (!f)
		return NULL;
	return KCAST(f, struct file);
}

static __always_inline struct file *fd_file(__s64 fd)
{
	return task_fd_file(bpf_get_current_task_btf(), fd);
}

/* `f` comes from fd_file (a read-only BTF pointer): plain loads. */
static __always_inline void file_dev_ino(struct file *f, __u32 *dev, __u64 *ino)
{
	*dev = 0;
	*ino = 0;
	if (!f)
		return;
	struct inode *i = f->f_inode;
	if (!i)
		return;
	*dev = encode_dev(i->i_sb->s_dev);
	*ino = i->i_ino;
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	struct kernfs_node___new *n = (void *)kn;
	if (bpf_core_field_exists(n->__parent))
		return BPF_CORE_READ(n, __parent);
	struct kernfs_node___old *o = (void *)kn;
	return BPF_CORE_READ(o, parent);
}

/* Writes the path of (dentry, vfsmount) as seen from the task's root, crossing mount points
 * (at most MAX_PATH_COMPONENTS steps; deeper paths lose their leading components).
 *
 * A dentry that is its own parent without being its mount's root belongs to no directory tree:
 * the files of pseudo filesystems (a memfd's `memfd:NAME`, pipes, anonymous inodes). Like
 * Falco's BPF drivers, the walk stops there; when nothing was collected before it (the file
 * itself is such a dentry) its bare name is the path, without a leading slash: a process run
 * from a memfd has the exe path `memfd:NAME`, as Falco reports it. */
static __always_inline __u16 w_dentry_path(struct scratch *s, struct dentry *d, struct vfsmount *vmnt)
{
	__u64 *names = (__u64 *)&s->data[PATH_SLOTS];
	for (int k = 0; k <= MAX_PATH_COMPONENTS; k++)
		names[k] = 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct dentry *root = BPF_CORE_READ(t, fs, root.dentry);
	struct mount *mnt = container_of(vmnt, struct mount, mnt);
	struct dentry *mnt_root = BPF_CORE_READ(vmnt, mnt_root);

	for (int k = 0; k < MAX_PATH_COMPONENTS; k++) {
		if (!d || d == root)
			break;
		if (d == mnt_root) {
			struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
			if (!parent || parent == mnt)
				break;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = parent;
			mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
			continue;
		}
		struct dentry *up = BPF_CORE_READ(d, d_parent);
		if (up == d) {
			/* Slot MAX_PATH_COMPONENTS keeps the pseudo file's own name (see above). */
			names[MAX_PATH_COMPONENTS] = (__u64)BPF_CORE_READ(d, d_name.name);
			break;
		}
		names[k] = (__u64)BPF_CORE_READ(d, d_name.name);
		d = up;
	}

	/* Lengths come from the write position, which the verifier does not track: keeping running
	 * totals in registers would give every path its own range and defeat state pruning. */
	__u32 start = s->pos;
	for (int k = MAX_PATH_COMPONENTS - 1; k >= 0; k--) {
		if (!names[k])
			continue;
		W(s, char, '/');
		if (w_kernel_str(s, (const void *)names[k], MAX_NAME))
			s->pos -= 1; /* drop the NUL: the next '/' or the final NUL goes there */
	}
	if (s->pos == start) {
		if (names[MAX_PATH_COMPONENTS] &&
		    w_kernel_str(s, (const void *)names[MAX_PATH_COMPONENTS], MAX_NAME))
			return s->pos - start;
		W(s, char, '/');
	}
	W(s, char, '\0');
	return s->pos - start;
}

static __always_inline void p_cwd(struct scratch *s, struct task_struct *t)
{
	struct dentry *d = BPF_CORE_READ(t, fs, pwd.dentry);
	struct vfsmount *m = BPF_CORE_READ(t, fs, pwd.mnt);
	if (!d || !m) {
		p_empty(s);
		return;
	}
	put_len(s, w_dentry_path(s, d, m));
}

/* cgroups as "subsystem=/path" strings, one per enabled subsystem, NUL-separated. */
static __always_inline void p_cgroups(struct scratch *s, struct task_struct *t)
{
	struct css_set *cs = BPF_CORE_READ(t, cgroups);
	__u32 start = s->pos;
	for (int i = 0; i < CGROUP_SUBSYS_COUNT; i++) {
		struct cgroup_subsys_state *css = BPF_CORE_READ(cs, subsys[i]);
		if (!css)
			continue;
		const char *name = BPF_CORE_READ(css, ss, name);
		struct kernfs_node *kn = BPF_CORE_READ(css, cgroup, kn);
		if (!w_kernel_str(s, name, 32))
			continue;
		s->pos -= 1;
		W(s, char, '=');

		__u64 *parts = (__u64 *)&s->data[CGROUP_SLOTS];
		for (int k = 0; k < MAX_CGROUP_DEPTH; k++)
			parts[k] = 0;
		for (int k = 0; k < MAX_CGROUP_DEPTH; k++) {
			if (!kn)
				break;
			struct kernfs_node *up = kn_parent(kn);
			if (!up)
				break; /* the hierarchy root: its name is not part of the path */
			parts[k] = (__u64)BPF_CORE_READ(kn, name);
			kn = up;
		}
		__u32 path_start = s->pos;
		for (int k = MAX_CGROUP_DEPTH - 1; k >= 0; k--) {
			if (!parts[k])
				continue;
			W(s, char, '/');
			if (w_kernel_str(s, (const void *)parts[k], MAX_NAME))
				s->pos -= 1;
		}
		if (s->pos == path_start)
			W(s, char, '/');
		W(s, char, '\0');
	}
	put_len(s, s->pos - start);
}

/* argv[0] and the rest of the arguments, read from the task's own memory (after a successful
 * execve, or for clone, where the argument area is inherited). */
static __always_inline void p_exe_args_from_mm(struct scratch *s, struct task_struct *t)
{
	unsigned long start = BPF_CORE_READ(t, mm, arg_start);
	unsigned long end = BPF_CORE_READ(t, mm, arg_end);
	__u16 exe_len = w_user_str(s, start, MAX_PATH);
	put_len(s, exe_len);
	if (end > start + exe_len)
		p_user_buf(s, start + exe_len, end - start - exe_len, MAX_ARGS);
	else
		p_empty(s);
}

/* A NUL-separated copy of a user char *[] (execve argv/envp when the syscall failed and the
 * caller's memory is still there). Reads at most 32 entries. */
static __always_inline void p_user_strv(struct scratch *s, unsigned long vec, int skip)
{
	if (!vec) {
		p_empty(s);
		return;
	}
	__u32 start = s->pos;
	for (int i = 0; i < 32; i++) {
		unsigned long p = 0;
		if (bpf_probe_read_user(&p, sizeof(p), (const void *)(vec + i * sizeof(p))) || !p)
			break;
		if (i < skip)
			continue;
		w_user_str(s, p, MAX_NAME * 4);
		if (s->pos - start > MAX_ARGS)
			break;
	}
	put_len(s, s->pos - start);
}

static __always_inline void p_user_argv0(struct scratch *s, unsigned long vec)
{
	unsigned long p = 0;
	if (!vec || bpf_probe_read_user(&p, sizeof(p), (const void *)vec)) {
		p_empty(s);
		return;
	}
	p_user_str(s, p, MAX_PATH);
}

static __always_inline __u64 fdlimit(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, rlim[RLIMIT_NOFILE].rlim_cur);
}

static __always_inline __u64 rss_counter(struct mm_struct *mm, int i)
{
	if (bpf_core_type_exists(struct mm_rss_stat___old)) {
		struct mm_struct___old *o = (void *)mm;
		return BPF_CORE_READ(o, rss_stat.count[i].counter);
	}
	struct mm_struct___pcpu *n = (void *)mm;
	return BPF_CORE_READ(n, rss_stat[i].count);
}

/* The memory figures of clone/execve events: pgft_maj, pgft_min, vm_size, vm_rss, vm_swap (KiB). */
static __always_inline void p_mem(struct scratch *s, struct task_struct *t)
{
	p_u64(s, BPF_CORE_READ(t, maj_flt));
	p_u64(s, BPF_CORE_READ(t, min_flt));
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	__u32 size = 0, rss = 0, swap = 0;
	if (mm) {
		size = BPF_CORE_READ(mm, total_vm) << (PAGE_SHIFT - 10);
		/* MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SWAPENTS 2, MM_SHMEMPAGES 3 */
		rss = (rss_counter(mm, 0) + rss_counter(mm, 1) + rss_counter(mm, 3)) << (PAGE_SHIFT - 10);
		swap = rss_counter(mm, 2) << (PAGE_SHIFT - 10);
	}
	p_u32(s, size);
	p_u32(s, rss);
	p_u32(s, swap);
}

/* pid as seen from the task's own pid namespace. */
static __always_inline __s64 task_vnr(struct task_struct *t, struct pid *pid)
{
	if (!pid)
		return 0;
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};
	bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
	return up.nr;
}

static __always_inline __s64 task_vtgid(struct task_struct *t)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	return task_vnr(leader, BPF_CORE_READ(leader, thread_pid));
}

static __always_inline __u64 pidns_init_start(struct task_struct *t)
{
	struct pid *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};
	bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
	struct task_struct *reaper = BPF_CORE_READ(up.ns, child_reaper);
	if (!reaper)
		return 0;
	return BPF_CORE_READ(reaper, start_boottime) + boot_time_ns;
}

static __always_inline __u32 task_euid(struct task_struct *t) { return BPF_CORE_READ(t, cred, euid.val); }
static __always_inline __u32 task_egid(struct task_struct *t) { return BPF_CORE_READ(t, cred, egid.val); }

static __always_inline __u32 task_loginuid(struct task_struct *t)
{
	if (bpf_core_field_exists(t->loginuid))
		return BPF_CORE_READ(t, loginuid.val);
	return 0xffffffff;
}

static __always_inline __u32 task_tty(struct task_struct *t)
{
	struct tty_struct *tty = BPF_CORE_READ(t, signal, tty);
	if (!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	int major = BPF_CORE_READ(tty, driver, major);
	int minor_start = BPF_CORE_READ(tty, driver, minor_start);
	return encode_dev(((__u32)major << 20) | (__u32)(minor_start + index));
}

static __always_inline __u64 cap_read(kernel_cap_t *cap)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), cap);
	return v;
}

static __always_inline __u64 inode_time_ns(struct inode *i, int ctime)
{
	__s64 sec = 0, nsec = 0;
	struct inode___v611 *a = (void *)i;
	if (bpf_core_field_exists(a->i_ctime_sec)) {
		sec = ctime ? BPF_CORE_READ(a, i_ctime_sec) : BPF_CORE_READ(a, i_mtime_sec);
		nsec = ctime ? BPF_CORE_READ(a, i_ctime_nsec) : BPF_CORE_READ(a, i_mtime_nsec);
	} else {
		struct inode___v66 *b = (void *)i;
		struct inode___old *c = (void *)i;
		struct timespec64 ts = {};
		if (!ctime)
			BPF_CORE_READ_INTO(&ts, c, i_mtime);
		else if (bpf_core_field_exists(b->__i_ctime))
			BPF_CORE_READ_INTO(&ts, b, __i_ctime);
		else
			BPF_CORE_READ_INTO(&ts, c, i_ctime);
		sec = ts.tv_sec;
		nsec = ts.tv_nsec & 0x3fffffff; /* the top bit may flag "ctime queried" */
	}
	return sec * 1000000000ULL + nsec;
}

/* ------------------------------------------------------------------------------------------ */
/* Sockets.                                                                                    */

static __always_inline __u16 bswap16(__u16 v) { return (v >> 8) | (v << 8); }

/* A user sockaddr as scap packs it: family, then address and port (host order), or the path. */
static __always_inline __u16 w_sockaddr_user(struct scratch *s, unsigned long uaddr, __u64 ulen)
{
	if (!uaddr || ulen < 2)
		return 0;
	if (ulen > MAX_SOCKADDR)
		ulen = MAX_SOCKADDR;
	__u8 *tmp = &s->data[SOCKADDR_TMP];
	if (bpf_probe_read_user(tmp, ulen & (MAX_SOCKADDR * 2 - 1) & 0xff, (const void *)uaddr))
		return 0;
	__u16 family = *(__u16 *)tmp;
	switch (family) {
	case AF_INET:
		W(s, __u8, AF_INET);
		W(s, __u32, *(__u32 *)&tmp[4]);
		W(s, __u16, bswap16(*(__u16 *)&tmp[2]));
		return 7;
	case AF_INET6:
		W(s, __u8, AF_INET6);
		W(s, __u64, *(__u64 *)&tmp[8]);
		W(s, __u64, *(__u64 *)&tmp[16]);
		W(s, __u16, bswap16(*(__u16 *)&tmp[2]));
		return 19;
	case AF_UNIX: {
		W(s, __u8, AF_UNIX);
		/* An abstract address starts with a NUL, which is skipped. */
		const char *path = (const char *)&tmp[2];
		if (tmp[2] == 0)
			path = (const char *)&tmp[3];
		__u16 n = w_kernel_str(s, path, UNIX_PATH_MAX + 1);
		if (n == 0)
			W(s, char, '\0');
		return 1 + (n ? n : 1);
	}
	default:
		return 0;
	}
}

#define OUTBOUND 0
#define INBOUND 1

/* The socket tuple of `fd` from the kernel's socket: local->remote for outbound, remote->local
 * for inbound. For an unconnected socket the destination comes from the user sockaddr, if any. */
static __always_inline __u16 w_tuple(struct scratch *s, __s64 fd, int dir, unsigned long uaddr, __u64 ulen)
{
	struct file *f = fd_file(fd);
	if (!f)
		return 0;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_INET) {
		struct inet_sock *inet = (struct inet_sock *)sk;
		__u32 laddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u16 lport = bswap16(BPF_CORE_READ(inet, inet_sport));
		__u32 raddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__u16 rport = bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (raddr == 0 && rport == 0 && uaddr && ulen >= 8) {
			__u8 tmp[8] = {};
			if (!bpf_probe_read_user(tmp, sizeof(tmp), (const void *)uaddr) && *(__u16 *)tmp == AF_INET) {
				raddr = *(__u32 *)&tmp[4];
				rport = bswap16(*(__u16 *)&tmp[2]);
			}
		}
		/* scap order: source address, source port, destination address, destination port. */
		W(s, __u8, AF_INET);
		if (dir == OUTBOUND) {
			W(s, __u32, laddr);
			W(s, __u16, lport);
			W(s, __u32, raddr);
			W(s, __u16, rport);
		} else {
			W(s, __u32, raddr);
			W(s, __u16, rport);
			W(s, __u32, laddr);
			W(s, __u16, lport);
		}
		return 13;
	}
	if (family == AF_INET6) {
		struct inet_sock *inet = (struct inet_sock *)sk;
		struct in6_addr l = {}, r = {};
		BPF_CORE_READ_INTO(&l, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&r, sk, __sk_common.skc_v6_daddr);
		__u16 lport = bswap16(BPF_CORE_READ(inet, inet_sport));
		__u16 rport = bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
		W(s, __u8, AF_INET6);
		struct in6_addr *first = dir == OUTBOUND ? &l : &r;
		struct in6_addr *second = dir == OUTBOUND ? &r : &l;
		W(s, __u64, *(__u64 *)&first->in6_u.u6_addr8[0]);
		W(s, __u64, *(__u64 *)&first->in6_u.u6_addr8[8]);
		W(s, __u16, dir == OUTBOUND ? lport : rport);
		W(s, __u64, *(__u64 *)&second->in6_u.u6_addr8[0]);
		W(s, __u64, *(__u64 *)&second->in6_u.u6_addr8[8]);
		W(s, __u16, dir == OUTBOUND ? rport : lport);
		return 37;
	}
	if (family == AF_UNIX) {
		struct unix_sock *us = (struct unix_sock *)sk;
		struct unix_sock *peer = (struct unix_sock *)BPF_CORE_READ(us, peer);
		W(s, __u8, AF_UNIX);
		struct unix_sock *named;
		if (dir == OUTBOUND) {
			W(s, __u64, (__u64)peer);
			W(s, __u64, (__u64)us);
			named = peer;
		} else {
			W(s, __u64, (__u64)us);
			W(s, __u64, (__u64)peer);
			named = us;
		}
		__u16 n = 0;
		struct unix_address *ua = named ? BPF_CORE_READ(named, addr) : NULL;
		if (ua) {
			char first = 0;
			const char *path = (const char *)ua->name[0].sun_path;
			bpf_probe_read_kernel(&first, 1, path);
			if (first == 0)
				path += 1;
			n = w_kernel_str(s, path, UNIX_PATH_MAX + 1);
		}
		if (n == 0) {
			W(s, char, '\0');
			n = 1;
		}
		return 17 + n;
	}
	return 0;
}

#define EXIT_PROG(name) \
	SEC("tp_btf/sys_exit") int BPF_PROG(name, struct pt_regs *regs, long ret)

#define BEGIN(type, n)                             \
	struct scratch *s = scratch_get();         \
	if (!s) {                                  \
		struct vigil_counters *c = counters_get(); \
		if (c)                             \
			c->drops_no_scratch++;     \
		return 0;                          \
	}                                          \
	ev_begin(s, type, n)

/* ------------------------------------------------------------------------------------------ */
/* Files.                                                                                      */

/* What the open family reports about the file it opened: created or not, device and inode. */
struct opened {
	__u32 created; /* PPM_O_F_CREATED or 0 */
	__u32 dev;
	__u64 ino;
};

static __always_inline struct opened task_opened_file(struct task_struct *t, long ret)
{
	struct opened o = {};
	struct file *f = ret >= 0 ? task_fd_file(t, ret) : NULL;
	if (f) {
		o.created = (f->f_mode & FMODE_CREATED) ? PPM_O_F_CREATED : 0;
		file_dev_ino(f, &o.dev, &o.ino);
	}
	return o;
}

static __always_inline struct opened opened_file(long ret)
{
	return task_opened_file(bpf_get_current_task_btf(), ret);
}

EXIT_PROG(x_open)
{
	BEGIN(PPME_SYSCALL_OPEN_X, 6);
	unsigned long flags = ARG1(regs);
	struct opened o = opened_file(ret);
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_PATH);
	p_u32(s, open_flags_to_scap(flags) | o.created);
	p_u32(s, open_mode_to_scap(flags, ARG2(regs)));
	p_u32(s, o.dev);
	p_u64(s, o.ino);
	ev_submit(s);
	return 0;
}

/* openat, the most frequent event, is written at constant offsets (only the fields after the path
 * move), without the running positions of the generic builders: far fewer instructions and memory
 * operations. `t` is the current task: the dispatcher has it already, and the thread id and the
 * opened file are read through it (plain loads) instead of more helper calls. Layout after the
 * header: 7 parameter lengths, then res, dirfd, name, flags, mode, dev, ino. */
#define OPENAT_LENS (VIGIL_CPU_PREFIX_LEN + VIGIL_EVT_HDR_LEN)
#define OPENAT_RES (OPENAT_LENS + 7 * 2)
#define OPENAT_NAME (OPENAT_RES + 16)
#define OPENAT_TAIL_SIZE (4 + 4 + 4 + 8)
/* With repeats on, openat records are built alternately in two areas of the scratch buffer, so
 * that the last one is still there to compare with; no other writer reaches them but ev_begin's
 * builders, which mark the last one gone (last_size = 0). */
#define OPENAT_AREA_0 (16 * 1024)
#define OPENAT_AREA_1 (32 * 1024)
/* Repeats are looked for in records up to this size (paths up to ~300 bytes). */
#define REPEAT_MAX_SIZE (OPENAT_NAME + 320 + OPENAT_TAIL_SIZE)

/* Is the openat record just built at `d` equal, thread and parameters, to this CPU's last record,
 * and that last record the last one any CPU sent? */
static __always_inline int openat_repeats(struct scratch *s, struct vigil_repeat_cpu *r, __u8 *d, __u32 half,
					  __u32 size, __u32 cpu)
{
	if (r->last_size != size || size > REPEAT_MAX_SIZE)
		return 0;
	if (*(volatile __u64 *)&last_record != record_tag(cpu, r->last))
		return 0;
	__u8 *p = &s->data[half ? OPENAT_AREA_0 : OPENAT_AREA_1];
	if (*(__u64 *)&p[OFF_TID] != *(__u64 *)&d[OFF_TID])
		return 0;
	/* The parameters, eight bytes at a time, then the last eight (overlapping) for the rest. */
	for (__u32 i = 0; i < (REPEAT_MAX_SIZE - OPENAT_RES) / 8; i++) {
		__u32 o = OPENAT_RES + i * 8;
		if (o + 8 > size)
			break;
		if (*(__u64 *)&p[o] != *(__u64 *)&d[o])
			return 0;
	}
	__u32 o = (size - 8) & 1023;
	return *(__u64 *)&p[o] == *(__u64 *)&d[o];
}

static __always_inline int emit_openat(struct task_struct *t, struct pt_regs *regs, long ret)
{
	struct scratch *s = scratch_get();
	struct vigil_counters *c = counters_get();
	if (!s || !c) {
		if (c)
			c->drops_no_scratch++;
		return 0;
	}
	__u32 cpu = bpf_get_smp_processor_id();
	struct vigil_repeat_cpu *r = repeat_cpu(cpu);
	__u32 half = 0;
	__u8 *d = s->data;
	if (r) {
		half = r->half ^ 1;
		d = &s->data[half ? OPENAT_AREA_1 : OPENAT_AREA_0];
	}
	unsigned long flags = ARG2(regs);
	struct opened o = task_opened_file(t, ret);
	*(__u16 *)&d[0] = (__u16)cpu;
	*(__u64 *)&d[OFF_TID] = (__u32)t->pid;
	*(__u16 *)&d[OFF_TYPE] = PPME_SYSCALL_OPENAT_2_X;
	*(__u32 *)&d[OFF_NPARAMS] = 7;
	*(__s64 *)&d[OPENAT_RES] = ret;
	*(__s64 *)&d[OPENAT_RES + 8] = IARG(ARG0(regs));
	long n = 0;
	unsigned long name = ARG1(regs);
	if (name)
		n = bpf_probe_read_user_str(&d[OPENAT_NAME], MAX_PATH, (const void *)name);
	if (n < 0)
		n = 0;
	__u32 off = OPENAT_NAME + ((__u32)n & (2 * MAX_PATH - 1));
	*(__u32 *)&d[off] = open_flags_to_scap(flags) | o.created;
	*(__u32 *)&d[off + 4] = open_mode_to_scap(flags, ARG3(regs));
	*(__u32 *)&d[off + 8] = o.dev;
	*(__u64 *)&d[off + 12] = o.ino;
	__u32 size = off + OPENAT_TAIL_SIZE;
	*(__u32 *)&d[OFF_LEN] = size - VIGIL_CPU_PREFIX_LEN;
	*(__u16 *)&d[OPENAT_LENS] = 8;
	*(__u16 *)&d[OPENAT_LENS + 2] = 8;
	*(__u16 *)&d[OPENAT_LENS + 4] = (__u16)n;
	*(__u16 *)&d[OPENAT_LENS + 6] = 4;
	*(__u16 *)&d[OPENAT_LENS + 8] = 4;
	*(__u16 *)&d[OPENAT_LENS + 10] = 4;
	*(__u16 *)&d[OPENAT_LENS + 12] = 8;
	int same = 0;
	if (r) {
		same = openat_repeats(s, r, d, half, size, cpu);
		/* The agent let go of a record of this run: count this one instead of sending it. */
		__u64 consent = *(volatile __u64 *)&r->consent;
		if (same && consent && consent >= r->run_start) {
			r->pending++;
			r->suppressed++;
			r->pending_tid = (__u32)t->pid;
			return 0;
		}
	}
	__u64 ts = boot_time_ns + bpf_ktime_get_boot_ns();
	*(__u64 *)&d[OFF_TS] = ts;
	if (r && r->pending)
		flush_repeats(cpu, r, c, ts);
	if (bpf_ringbuf_output(&events, d, size, BPF_RB_NO_WAKEUP)) {
		c->drops_buffer++;
		if (r)
			r->last_size = 0;
		return 0;
	}
	note_record(cpu, c);
	if (r) {
		if (!same)
			r->run_start = c->events;
		r->last = c->events;
		r->last_size = size;
		r->half = half;
	}
	return 0;
}

struct open_how_user {
	__u64 flags;
	__u64 mode;
	__u64 resolve;
};

EXIT_PROG(x_openat2)
{
	BEGIN(PPME_SYSCALL_OPENAT2_X, 8);
	struct open_how_user how = {};
	bpf_probe_read_user(&how, sizeof(how), (const void *)ARG2(regs));
	struct opened o = opened_file(ret);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_u32(s, open_flags_to_scap(how.flags) | o.created);
	p_u32(s, open_mode_to_scap(how.flags, how.mode));
	p_u32(s, openat2_resolve_to_scap(how.resolve));
	p_u32(s, o.dev);
	p_u64(s, o.ino);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_creat)
{
	BEGIN(PPME_SYSCALL_CREAT_X, 6);
	struct opened o = opened_file(ret);
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_PATH);
	p_u32(s, open_mode_to_scap(L_O_CREAT, ARG1(regs)));
	p_u32(s, o.dev);
	p_u64(s, o.ino);
	p_u16(s, 0); /* creat_flags: overlay layer bits, not computed */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_openat) { return emit_openat(bpf_get_current_task_btf(), regs, ret); }

/* close has a fixed size: it is written straight into the ring buffer, without the scratch copy. */
#define CLOSE_SIZE (VIGIL_CPU_PREFIX_LEN + VIGIL_EVT_HDR_LEN + 2 * 2 + 8 + 8)

static __always_inline int emit_close(struct pt_regs *regs, long ret)
{
	struct vigil_counters *c = counters_get();
	if (!c)
		return 0;
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 ts = boot_time_ns + bpf_ktime_get_boot_ns();
	struct vigil_repeat_cpu *rep = repeat_cpu(cpu);
	if (rep && rep->pending)
		flush_repeats(cpu, rep, c, ts);
	__u8 *r = bpf_ringbuf_reserve(&events, CLOSE_SIZE, 0);
	if (!r) {
		c->drops_buffer++;
		return 0;
	}
	*(__u16 *)&r[0] = (__u16)cpu;
	*(__u64 *)&r[OFF_TS] = ts;
	*(__u64 *)&r[OFF_TID] = (__u32)bpf_get_current_pid_tgid();
	*(__u32 *)&r[OFF_LEN] = CLOSE_SIZE - VIGIL_CPU_PREFIX_LEN;
	*(__u16 *)&r[OFF_TYPE] = PPME_SYSCALL_CLOSE_X;
	*(__u32 *)&r[OFF_NPARAMS] = 2;
	*(__u16 *)&r[28] = 8;
	*(__u16 *)&r[30] = 8;
	*(__s64 *)&r[32] = ret;
	*(__s64 *)&r[40] = IARG(ARG0(regs));
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	note_record(cpu, c);
	return 0;
}

EXIT_PROG(x_close) { return emit_close(regs, ret); }

/* ------------------------------------------------------------------------------------------ */
/* The dispatcher.                                                                             */

SEC("tp_btf/sys_exit")
int BPF_PROG(vigil_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 id = (__u32)regs->orig_ax;
	if (id == NR_EXECVE && ret == 0) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		if (bpf_map_lookup_elem(&execveat_pending, &tid)) {
			bpf_map_delete_elem(&execveat_pending, &tid);
			id = NR_EXECVEAT;
		}
	} else if (id == NR_EXECVEAT) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		bpf_map_delete_elem(&execveat_pending, &tid);
	}
	if (id >= VIGIL_MAX_SYSCALLS)
		return 0;
	__u8 *on = bpf_map_lookup_elem(&interesting_syscalls, &id);
	if (!on || !*on)
		return 0;
	/* Failed calls of syscalls only the state engine asked for: nothing can use them (a close
	 * that failed closed nothing, a failed open opened nothing), so they never leave the kernel. */
	if (*on == VIGIL_FILTER_SUCCESS_ONLY && ret < 0)
		return 0;
	/* ia32 syscalls use other numbers: never dispatch them as x86_64 ones. */
	struct task_struct *t = bpf_get_current_task_btf();
	if (t->thread_info.status & TS_COMPAT) {
		struct vigil_counters *c = counters_get();
		if (c)
			c->skipped_compat++;
		return 0;
	}
	/* The most frequent syscalls are handled here: a tail call is an indirect jump, which costs a
	 * retpoline on kernels with Spectre mitigations. */
	if (id == NR_CLOSE)
		return emit_close(regs, ret);
	if (id == NR_OPENAT)
		return emit_openat(t, regs, ret);
	bpf_tail_call(ctx, &syscall_exit_handlers, id);
	return 0;
}


EXIT_PROG(x_dup)
{
	BEGIN(PPME_SYSCALL_DUP_1_X, 2);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_dup2)
{
	BEGIN(PPME_SYSCALL_DUP2_X, 3);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_s64(s, IARG(ARG1(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_dup3)
{
	BEGIN(PPME_SYSCALL_DUP3_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_s64(s, IARG(ARG1(regs)));
	p_u32(s, (ARG2(regs) & L_O_CLOEXEC) ? PPM_O_CLOEXEC : 0);
	ev_submit(s);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Other syscalls that make fds. The state engine needs them even when close is not captured: a */
/* new fd overwrites whatever its number named before (see captureSetFor in parse.ts).          */

#define L_F_DUPFD 0
#define L_F_DUPFD_CLOEXEC 1030

/* Linux fcntl commands to scap's PPM_FCNTL_* (x86_64 values; F_GETLK64 and friends are the
 * plain ones on 64-bit). */
static __always_inline __u8 fcntl_cmd_to_scap(unsigned long cmd)
{
	switch (cmd) {
	case 0: return 1;     /* F_DUPFD */
	case 1: return 2;     /* F_GETFD */
	case 2: return 3;     /* F_SETFD */
	case 3: return 4;     /* F_GETFL */
	case 4: return 5;     /* F_SETFL */
	case 5: return 6;     /* F_GETLK */
	case 6: return 8;     /* F_SETLK */
	case 7: return 9;     /* F_SETLKW */
	case 8: return 10;    /* F_SETOWN */
	case 9: return 12;    /* F_GETOWN */
	case 10: return 13;   /* F_SETSIG */
	case 11: return 15;   /* F_GETSIG */
	case 15: return 21;   /* F_SETOWN_EX */
	case 16: return 22;   /* F_GETOWN_EX */
	case 36: return 30;   /* F_OFD_GETLK */
	case 37: return 31;   /* F_OFD_SETLK */
	case 38: return 32;   /* F_OFD_SETLKW */
	case 1024: return 23; /* F_SETLEASE */
	case 1025: return 24; /* F_GETLEASE */
	case 1026: return 27; /* F_NOTIFY */
	case 1029: return 25; /* F_CANCELLK */
	case 1030: return 26; /* F_DUPFD_CLOEXEC */
	case 1031: return 28; /* F_SETPIPE_SZ */
	case 1032: return 29; /* F_GETPIPE_SZ */
	default: return 0;    /* UNKNOWN */
	}
}

EXIT_PROG(x_fcntl)
{
	unsigned long cmd = ARG1(regs);
	/* fcntl is frequent (F_GETFL, F_SETFD...) and only its dup commands make an fd: when only the
	 * state engine asked for it, the rest never leaves the kernel. */
	if (cmd != L_F_DUPFD && cmd != L_F_DUPFD_CLOEXEC) {
		__u32 id = NR_FCNTL;
		__u8 *on = bpf_map_lookup_elem(&interesting_syscalls, &id);
		if (!on || *on == VIGIL_FILTER_SUCCESS_ONLY)
			return 0;
	}
	BEGIN(PPME_SYSCALL_FCNTL_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_u8(s, fcntl_cmd_to_scap(cmd));
	p_u64(s, ARG2(regs));
	ev_submit(s);
	return 0;
}

/* O_CLOEXEC and O_NONBLOCK (and O_DIRECT for pipes) as scap file flags: the flags of pipe2,
 * eventfd2, signalfd4 and inotify_init1 share the open flags' values. */
static __always_inline __u32 fd_flags_to_scap(unsigned long f)
{
	__u32 r = 0;
	if (f & L_O_CLOEXEC)
		r |= PPM_O_CLOEXEC;
	if (f & L_O_NONBLOCK)
		r |= PPM_O_NONBLOCK;
	if (f & L_O_DIRECT)
		r |= PPM_O_DIRECT;
	return r;
}

/* pipe and pipe2: res, fd1, fd2, ino (of the pipe). */
static __always_inline void emit_pipe_common(struct scratch *s, struct pt_regs *regs, long ret)
{
	__s32 fds[2] = {-1, -1};
	if (ret != 0 || bpf_probe_read_user(fds, sizeof(fds), (const void *)ARG0(regs))) {
		fds[0] = -1;
		fds[1] = -1;
	}
	__u32 dev = 0;
	__u64 ino = 0;
	if (ret == 0)
		file_dev_ino(fd_file(fds[0]), &dev, &ino);
	p_s64(s, ret);
	p_s64(s, fds[0]);
	p_s64(s, fds[1]);
	p_u64(s, ino);
}

EXIT_PROG(x_pipe)
{
	BEGIN(PPME_SYSCALL_PIPE_X, 4);
	emit_pipe_common(s, regs, ret);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_pipe2)
{
	BEGIN(PPME_SYSCALL_PIPE2_X, 5);
	emit_pipe_common(s, regs, ret);
	p_u32(s, fd_flags_to_scap(ARG1(regs)));
	ev_submit(s);
	return 0;
}

/* res, fd1, fd2, source, peer, domain, type, proto; source and peer are the kernel addresses of
 * the two unix sockets (what the state engine and Falco use to pair the ends). */
EXIT_PROG(x_socketpair)
{
	BEGIN(PPME_SOCKET_SOCKETPAIR_X, 8);
	__s32 fds[2] = {-1, -1};
	if (ret != 0 || bpf_probe_read_user(fds, sizeof(fds), (const void *)ARG3(regs))) {
		fds[0] = -1;
		fds[1] = -1;
	}
	__u64 source = 0, peer = 0;
	if (ret == 0 && ARG0(regs) == AF_UNIX) {
		struct file *f = fd_file(fds[0]);
		if (f) {
			struct socket *sock = BPF_CORE_READ(f, private_data);
			struct sock *sk = BPF_CORE_READ(sock, sk);
			source = (__u64)sk;
			peer = (__u64)BPF_CORE_READ((struct unix_sock *)sk, peer);
		}
	}
	p_s64(s, ret);
	p_s64(s, fds[0]);
	p_s64(s, fds[1]);
	p_u64(s, source);
	p_u64(s, peer);
	p_u32(s, ARG0(regs));
	p_u32(s, ARG1(regs));
	p_u32(s, ARG2(regs));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_eventfd)
{
	BEGIN(PPME_SYSCALL_EVENTFD_X, 3);
	p_s64(s, ret);
	p_u64(s, (__u32)ARG0(regs));
	p_u32(s, 0); /* eventfd has no flags */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_eventfd2)
{
	BEGIN(PPME_SYSCALL_EVENTFD2_X, 3);
	p_s64(s, ret);
	p_u16(s, fd_flags_to_scap(ARG1(regs)));
	p_u64(s, (__u32)ARG0(regs));
	ev_submit(s);
	return 0;
}

/* The first 32 signals of a user sigset (the event's mask is 32 bits wide). */
static __always_inline __u32 user_sigmask(unsigned long ptr)
{
	__u32 mask = 0;
	if (ptr)
		bpf_probe_read_user(&mask, sizeof(mask), (const void *)ptr);
	return mask;
}

EXIT_PROG(x_signalfd)
{
	BEGIN(PPME_SYSCALL_SIGNALFD_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_u32(s, user_sigmask(ARG1(regs)));
	p_u8(s, 0); /* signalfd has no flags */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_signalfd4)
{
	BEGIN(PPME_SYSCALL_SIGNALFD4_X, 4);
	p_s64(s, ret);
	p_u16(s, fd_flags_to_scap(ARG3(regs)));
	p_s64(s, IARG(ARG0(regs)));
	p_u32(s, user_sigmask(ARG1(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_timerfd_create)
{
	BEGIN(PPME_SYSCALL_TIMERFD_CREATE_X, 3);
	p_s64(s, ret);
	p_u8(s, ARG0(regs));
	p_u8(s, 0); /* TFD_* flags do not fit the event's 8-bit field */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_inotify_init)
{
	BEGIN(PPME_SYSCALL_INOTIFY_INIT_X, 2);
	p_s64(s, ret);
	p_u8(s, 0); /* inotify_init has no flags */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_inotify_init1)
{
	BEGIN(PPME_SYSCALL_INOTIFY_INIT1_X, 2);
	p_s64(s, ret);
	p_u16(s, fd_flags_to_scap(ARG0(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_epoll_create)
{
	BEGIN(PPME_SYSCALL_EPOLL_CREATE_X, 2);
	p_s64(s, ret);
	p_s32(s, (__s32)ARG0(regs));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_epoll_create1)
{
	BEGIN(PPME_SYSCALL_EPOLL_CREATE1_X, 2);
	p_s64(s, ret);
	p_u32(s, (ARG0(regs) & L_O_CLOEXEC) ? PPM_EPOLL_CLOEXEC : 0);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_pidfd_open)
{
	BEGIN(PPME_SYSCALL_PIDFD_OPEN_X, 3);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_u32(s, (ARG1(regs) & L_O_NONBLOCK) ? 1 : 0); /* PIDFD_NONBLOCK */
	ev_submit(s);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Working directory: relative paths of later calls resolve against it.                        */

EXIT_PROG(x_fchdir)
{
	BEGIN(PPME_SYSCALL_FCHDIR_X, 2);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	ev_submit(s);
	return 0;
}

/* Events of the shape (res, path[, path]). */
#define PATH1_PROG(name, code)                          \
	EXIT_PROG(name)                                 \
	{                                               \
		BEGIN(code, 2);                         \
		p_s64(s, ret);                          \
		p_user_str(s, ARG0(regs), MAX_PATH);    \
		ev_submit(s);                           \
		return 0;                               \
	}
#define PATH2_PROG(name, code)                          \
	EXIT_PROG(name)                                 \
	{                                               \
		BEGIN(code, 3);                         \
		p_s64(s, ret);                          \
		p_user_str(s, ARG0(regs), MAX_PATH);    \
		p_user_str(s, ARG1(regs), MAX_PATH);    \
		ev_submit(s);                           \
		return 0;                               \
	}

PATH1_PROG(x_chdir, PPME_SYSCALL_CHDIR_X)
PATH1_PROG(x_unlink, PPME_SYSCALL_UNLINK_2_X)
PATH1_PROG(x_rmdir, PPME_SYSCALL_RMDIR_2_X)
PATH2_PROG(x_rename, PPME_SYSCALL_RENAME_X)
PATH2_PROG(x_link, PPME_SYSCALL_LINK_2_X)
PATH2_PROG(x_symlink, PPME_SYSCALL_SYMLINK_X)

EXIT_PROG(x_unlinkat)
{
	BEGIN(PPME_SYSCALL_UNLINKAT_2_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_u32(s, ARG2(regs) & 0x200); /* AT_REMOVEDIR has the same value in scap */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_renameat)
{
	BEGIN(PPME_SYSCALL_RENAMEAT_X, 5);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_s64(s, IARG(ARG2(regs)));
	p_user_str(s, ARG3(regs), MAX_PATH);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_renameat2)
{
	BEGIN(PPME_SYSCALL_RENAMEAT2_X, 6);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_s64(s, IARG(ARG2(regs)));
	p_user_str(s, ARG3(regs), MAX_PATH);
	p_u32(s, ARG4(regs) & 0x7); /* RENAME_NOREPLACE|EXCHANGE|WHITEOUT: same values in scap */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_linkat)
{
	BEGIN(PPME_SYSCALL_LINKAT_2_X, 6);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_s64(s, IARG(ARG2(regs)));
	p_user_str(s, ARG3(regs), MAX_PATH);
	p_u32(s, ARG4(regs) & (0x400 | 0x1000)); /* AT_SYMLINK_FOLLOW|AT_EMPTY_PATH: same values */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_symlinkat)
{
	BEGIN(PPME_SYSCALL_SYMLINKAT_X, 4);
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_PATH);
	p_s64(s, IARG(ARG1(regs)));
	p_user_str(s, ARG2(regs), MAX_PATH);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_mkdir)
{
	BEGIN(PPME_SYSCALL_MKDIR_2_X, 3);
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_PATH);
	p_u32(s, ARG1(regs) & 07777);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_mkdirat)
{
	BEGIN(PPME_SYSCALL_MKDIRAT_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_u32(s, ARG2(regs) & 07777);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_chmod)
{
	BEGIN(PPME_SYSCALL_CHMOD_X, 3);
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_PATH);
	p_u32(s, ARG1(regs) & 07777);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_fchmod)
{
	BEGIN(PPME_SYSCALL_FCHMOD_X, 3);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_u32(s, ARG1(regs) & 07777);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_fchmodat)
{
	BEGIN(PPME_SYSCALL_FCHMODAT_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_u32(s, ARG2(regs) & 07777);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_mount)
{
	BEGIN(PPME_SYSCALL_MOUNT_X, 5);
	unsigned long flags = ARG3(regs);
	if ((flags & MS_MGC_MSK) == MS_MGC_VAL)
		flags &= ~MS_MGC_MSK;
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_PATH);
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_user_str(s, ARG2(regs), MAX_NAME);
	p_u32(s, flags); /* MS_* flags have the same values in scap */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_umount2)
{
	BEGIN(PPME_SYSCALL_UMOUNT2_X, 3);
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_PATH);
	p_u32(s, ARG1(regs) & 0xf); /* MNT_FORCE|DETACH|EXPIRE, UMOUNT_NOFOLLOW: same values */
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_memfd_create)
{
	BEGIN(PPME_SYSCALL_MEMFD_CREATE_X, 3);
	p_s64(s, ret);
	p_user_str(s, ARG0(regs), MAX_NAME);
	p_u32(s, ARG1(regs) & 0x7); /* MFD_CLOEXEC|ALLOW_SEALING|HUGETLB: same values */
	ev_submit(s);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Network.                                                                                    */

EXIT_PROG(x_socket)
{
	BEGIN(PPME_SOCKET_SOCKET_X, 5);
	unsigned long type = ARG1(regs);
	__u32 flags = 0;
	if (type & 04000) /* SOCK_NONBLOCK */
		flags |= PPM_O_NONBLOCK;
	if (type & 02000000) /* SOCK_CLOEXEC */
		flags |= PPM_O_CLOEXEC;
	p_s64(s, ret);
	p_u32(s, ARG0(regs));
	p_u32(s, type);
	p_u32(s, ARG2(regs));
	p_u32(s, flags);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_bind)
{
	BEGIN(PPME_SOCKET_BIND_X, 3);
	p_s64(s, ret);
	put_len(s, w_sockaddr_user(s, ARG1(regs), ARG2(regs)));
	p_s64(s, IARG(ARG0(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_connect)
{
	BEGIN(PPME_SOCKET_CONNECT_X, 4);
	__s64 fd = IARG(ARG0(regs));
	p_s64(s, ret);
	if (ret == 0 || ret == -EINPROGRESS)
		put_len(s, w_tuple(s, fd, OUTBOUND, 0, 0));
	else
		p_empty(s);
	p_s64(s, fd);
	put_len(s, w_sockaddr_user(s, ARG1(regs), ARG2(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_listen)
{
	BEGIN(PPME_SOCKET_LISTEN_X, 3);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_s32(s, (__s32)ARG1(regs));
	ev_submit(s);
	return 0;
}

static __always_inline void emit_accept(struct scratch *s, struct pt_regs *regs, long ret, int with_flags)
{
	p_s64(s, ret);
	if (ret >= 0)
		put_len(s, w_tuple(s, ret, INBOUND, 0, 0));
	else
		p_empty(s);
	/* Accept-queue fill of the listening socket. */
	__u32 len = 0, max = 0;
	struct file *lf = fd_file(IARG(ARG0(regs)));
	if (lf) {
		struct socket *sock = BPF_CORE_READ(lf, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);
		len = BPF_CORE_READ(sk, sk_ack_backlog);
		max = BPF_CORE_READ(sk, sk_max_ack_backlog);
	}
	p_u8(s, max ? (__u8)((__u64)len * 100 / max) : 0);
	p_u32(s, len);
	p_u32(s, max);
	if (with_flags)
		p_s32(s, (__s32)ARG3(regs));
	ev_submit(s);
}

EXIT_PROG(x_accept)
{
	BEGIN(PPME_SOCKET_ACCEPT_5_X, 5);
	emit_accept(s, regs, ret, 0);
	return 0;
}

EXIT_PROG(x_accept4)
{
	BEGIN(PPME_SOCKET_ACCEPT4_6_X, 6);
	emit_accept(s, regs, ret, 1);
	return 0;
}

static __always_inline void p_snap(struct scratch *s, unsigned long buf, __u64 size)
{
	__u32 cap = snaplen;
	if (cap > MAX_SNAPLEN)
		cap = MAX_SNAPLEN;
	if (size > cap)
		size = cap;
	p_user_buf(s, buf, size, MAX_SNAPLEN);
}

EXIT_PROG(x_sendto)
{
	BEGIN(PPME_SOCKET_SENDTO_X, 5);
	__s64 fd = IARG(ARG0(regs));
	__u64 size = ARG2(regs);
	p_s64(s, ret);
	p_snap(s, ARG1(regs), ret > 0 && (__u64)ret < size ? (__u64)ret : (ret > 0 ? size : 0));
	p_s64(s, fd);
	p_u32(s, size);
	put_len(s, w_tuple(s, fd, OUTBOUND, ARG4(regs), regs->r9));
	ev_submit(s);
	return 0;
}

struct iovec_user {
	unsigned long base;
	__u64 len;
};

EXIT_PROG(x_sendmsg)
{
	BEGIN(PPME_SOCKET_SENDMSG_X, 5);
	__s64 fd = IARG(ARG0(regs));
	struct user_msghdr mh = {};
	bpf_probe_read_user(&mh, sizeof(mh), (const void *)ARG1(regs));
	struct iovec_user iov[8] = {};
	__u64 n = mh.msg_iovlen > 8 ? 8 : mh.msg_iovlen;
	__u64 size = 0;
	if (mh.msg_iov)
		bpf_probe_read_user(iov, sizeof(iov), mh.msg_iov);
	for (int i = 0; i < 8; i++) {
		if ((__u64)i >= n)
			break;
		size += iov[i].len;
	}
	p_s64(s, ret);
	__u64 got = ret > 0 ? (__u64)ret : 0;
	p_snap(s, n ? iov[0].base : 0, got < iov[0].len ? got : iov[0].len);
	p_s64(s, fd);
	p_u32(s, size);
	put_len(s, w_tuple(s, fd, OUTBOUND, (unsigned long)mh.msg_name, mh.msg_namelen));
	ev_submit(s);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Processes, credentials, namespaces, modules, signals.                                       */

EXIT_PROG(x_setuid)
{
	BEGIN(PPME_SYSCALL_SETUID_X, 2);
	p_s64(s, ret);
	p_u32(s, ARG0(regs));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_setgid)
{
	BEGIN(PPME_SYSCALL_SETGID_X, 2);
	p_s64(s, ret);
	p_u32(s, ARG0(regs));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_setns)
{
	BEGIN(PPME_SYSCALL_SETNS_X, 3);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_u32(s, clone_flags_to_scap(ARG1(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_unshare)
{
	BEGIN(PPME_SYSCALL_UNSHARE_X, 2);
	p_s64(s, ret);
	p_u32(s, clone_flags_to_scap(ARG0(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_kill)
{
	BEGIN(PPME_SYSCALL_KILL_X, 3);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_u8(s, ARG1(regs));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_tkill)
{
	BEGIN(PPME_SYSCALL_TKILL_X, 3);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_u8(s, ARG1(regs));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_tgkill)
{
	BEGIN(PPME_SYSCALL_TGKILL_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_s64(s, IARG(ARG1(regs)));
	p_u8(s, ARG2(regs));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_ptrace)
{
	BEGIN(PPME_SYSCALL_PTRACE_X, 5);
	__u16 req = ptrace_request_to_scap(ARG0(regs));
	unsigned long addr = ARG2(regs), data = ARG3(regs);
	p_s64(s, ret);
	/* addr and data are dynamic parameters: a type index byte, then the value. */
	W(s, __u8, PPM_PTRACE_IDX_UINT64);
	W(s, __u64, ret < 0 ? 0 : addr);
	put_len(s, 9);
	if (ret < 0) {
		W(s, __u8, PPM_PTRACE_IDX_UINT64);
		W(s, __u64, 0);
		put_len(s, 9);
	} else if (req == 2 || req == 3 || req == 4) { /* PEEKTEXT, PEEKDATA, PEEKUSR */
		__u64 v = 0;
		bpf_probe_read_user(&v, sizeof(v), (const void *)data);
		W(s, __u8, PPM_PTRACE_IDX_UINT64);
		W(s, __u64, v);
		put_len(s, 9);
	} else if (req == 8 || req == 10 || req == 12 || req == 13) { /* CONT, SINGLESTEP, DETACH, SYSCALL */
		W(s, __u8, PPM_PTRACE_IDX_SIGTYPE);
		W(s, __u8, data);
		put_len(s, 2);
	} else {
		W(s, __u8, PPM_PTRACE_IDX_UINT64);
		W(s, __u64, data);
		put_len(s, 9);
	}
	p_u16(s, req);
	p_s64(s, IARG(ARG1(regs)));
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_init_module)
{
	BEGIN(PPME_SYSCALL_INIT_MODULE_X, 4);
	p_s64(s, ret);
	p_snap(s, ARG0(regs), ARG1(regs));
	p_u64(s, ARG1(regs));
	p_user_str(s, ARG2(regs), MAX_PATH);
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_finit_module)
{
	BEGIN(PPME_SYSCALL_FINIT_MODULE_X, 4);
	p_s64(s, ret);
	p_s64(s, IARG(ARG0(regs)));
	p_user_str(s, ARG1(regs), MAX_PATH);
	p_u32(s, ARG2(regs) & 0x7); /* MODULE_INIT_* flags */
	ev_submit(s);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* clone, fork, vfork, clone3: one event in the parent (res = child tid) and one in the child  */
/* (res = 0), both at syscall exit.                                                            */

/* Parameters 1..14: res, exe, args, tid, pid, ptid, cwd, fdlimit, pgft_maj, pgft_min, vm_size,
 * vm_rss, vm_swap, comm. */
static __always_inline void p_proc_common(struct scratch *s, struct task_struct *t)
{
	p_exe_args_from_mm(s, t);
	p_s64(s, BPF_CORE_READ(t, pid));
	p_s64(s, BPF_CORE_READ(t, tgid));
	p_s64(s, BPF_CORE_READ(t, real_parent, pid));
	p_cwd(s, t);
	p_u64(s, fdlimit(t)); /* int64 in clone events, uint64 in execve: the same bytes */
	p_mem(s, t);
	put_len(s, w_kernel_str(s, t->comm, MAX_COMM));
}

static __always_inline int emit_clone_1(struct scratch *s, void *ctx, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	p_s64(s, ret);
	p_proc_common(s, t);
	bpf_tail_call(ctx, &stages, STAGE_CLONE_2);
	return 0;
}

/* The clone flags are kept in the scratch buffer's tail between stages. */
#define CLONE_FLAGS_SLOT (SCRATCH_SIZE - 8)

EXIT_PROG(x_clone)
{
	BEGIN(PPME_SYSCALL_CLONE_20_X, 21);
	*(__u64 *)&s->data[CLONE_FLAGS_SLOT] = clone_flags_to_scap(ARG0(regs));
	return emit_clone_1(s, ctx, ret);
}

EXIT_PROG(x_fork)
{
	BEGIN(PPME_SYSCALL_FORK_20_X, 21);
	*(__u64 *)&s->data[CLONE_FLAGS_SLOT] = 0;
	return emit_clone_1(s, ctx, ret);
}

EXIT_PROG(x_vfork)
{
	BEGIN(PPME_SYSCALL_VFORK_20_X, 21);
	*(__u64 *)&s->data[CLONE_FLAGS_SLOT] = clone_flags_to_scap(0x00000100 | 0x00004000);
	return emit_clone_1(s, ctx, ret);
}

EXIT_PROG(x_clone3)
{
	BEGIN(PPME_SYSCALL_CLONE3_X, 21);
	__u64 flags = 0;
	bpf_probe_read_user(&flags, sizeof(flags), (const void *)ARG0(regs)); /* clone_args.flags */
	*(__u64 *)&s->data[CLONE_FLAGS_SLOT] = clone_flags_to_scap(flags);
	return emit_clone_1(s, ctx, ret);
}

/* Parameters 15..21: cgroups, flags, uid, gid, vtid, vpid, pidns_init_start_ts. */
EXIT_PROG(stage_clone_2)
{
	struct scratch *s = scratch_get();
	if (!s)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	p_cgroups(s, t);
	p_u32(s, *(__u64 *)&s->data[CLONE_FLAGS_SLOT]);
	p_u32(s, task_euid(t));
	p_u32(s, task_egid(t));
	p_s64(s, task_vnr(t, BPF_CORE_READ(t, thread_pid)));
	p_s64(s, task_vtgid(t));
	p_u64(s, pidns_init_start(t));
	ev_submit(s);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* execve, execveat.                                                                           */

static __always_inline int emit_exec_1(struct scratch *s, void *ctx, struct pt_regs *regs, long ret,
				       int argv_arg, __u32 next)
{
	struct task_struct *t = bpf_get_current_task_btf();
	p_s64(s, ret);
	if (ret == 0) {
		p_exe_args_from_mm(s, t);
	} else {
		unsigned long argv = argv_arg == 1 ? ARG1(regs) : ARG2(regs);
		p_user_argv0(s, argv);
		p_user_strv(s, argv, 1);
	}
	p_s64(s, BPF_CORE_READ(t, pid));
	p_s64(s, BPF_CORE_READ(t, tgid));
	p_s64(s, BPF_CORE_READ(t, real_parent, pid));
	p_cwd(s, t);
	p_u64(s, fdlimit(t));
	p_mem(s, t);
	put_len(s, w_kernel_str(s, t->comm, MAX_COMM));
	bpf_tail_call(ctx, &stages, next);
	return 0;
}

/* Parameters 15..27: cgroups, env, tty, pgid (in the task's namespace), loginuid, flags,
 * cap_inheritable, cap_permitted, cap_effective, exe_ino, exe_ino_ctime, exe_ino_mtime, uid. */
static __always_inline int emit_exec_2(void *ctx, struct pt_regs *regs, long ret, int envp_arg, __u32 next)
{
	struct scratch *s = scratch_get();
	if (!s)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	p_cgroups(s, t);
	if (ret == 0) {
		unsigned long start = BPF_CORE_READ(t, mm, env_start);
		unsigned long end = BPF_CORE_READ(t, mm, env_end);
		p_user_buf(s, start, end > start ? end - start : 0, MAX_ARGS);
	} else {
		p_user_strv(s, envp_arg == 2 ? ARG2(regs) : ARG3(regs), 0);
	}
	p_u32(s, task_tty(t));
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	p_s64(s, task_vnr(t, BPF_CORE_READ(leader, signal, pids[PIDTYPE_PGID])));
	p_u32(s, task_loginuid(t));

	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	struct inode *ino = BPF_CORE_READ(exe, f_inode);
	const struct cred *cred = BPF_CORE_READ(t, cred);
	__u64 cap_eff = cap_read(&((struct cred *)cred)->cap_effective);
	__u32 flags = 0;
	if (ino) {
		/* Writable by the task: root with CAP_DAC_OVERRIDE, or the owner/group/other write bit. */
		__u32 fsuid = BPF_CORE_READ(cred, fsuid.val);
		__u32 fsgid = BPF_CORE_READ(cred, fsgid.val);
		__u16 mode = BPF_CORE_READ(ino, i_mode);
		__u32 iuid = BPF_CORE_READ(ino, i_uid.val);
		__u32 igid = BPF_CORE_READ(ino, i_gid.val);
		if ((cap_eff & (1ULL << CAP_DAC_OVERRIDE)) ||
		    (fsuid == iuid ? (mode & S_IWUSR) : fsgid == igid ? (mode & S_IWGRP) : (mode & S_IWOTH)))
			flags |= PPM_EXE_WRITABLE;
		char prefix[6] = {};
		bpf_probe_read_kernel(prefix, sizeof(prefix), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
		if (prefix[0] == 'm' && prefix[1] == 'e' && prefix[2] == 'm' && prefix[3] == 'f' && prefix[4] == 'd' &&
		    prefix[5] == ':')
			flags |= PPM_EXE_FROM_MEMFD;
	}
	p_u32(s, flags);
	p_u64(s, cap_read(&((struct cred *)cred)->cap_inheritable));
	p_u64(s, cap_read(&((struct cred *)cred)->cap_permitted));
	p_u64(s, cap_eff);
	p_u64(s, ino ? BPF_CORE_READ(ino, i_ino) : 0);
	p_u64(s, ino ? inode_time_ns(ino, 1) : 0);
	p_u64(s, ino ? inode_time_ns(ino, 0) : 0);
	p_u32(s, task_euid(t));
	bpf_tail_call(ctx, &stages, next);
	return 0;
}

/* Parameters 28..30(31): trusted_exepath, pgid, gid[, filename]. */
static __always_inline int emit_exec_3(struct pt_regs *regs, long ret, int with_filename)
{
	struct scratch *s = scratch_get();
	if (!s)
		return 0;
	struct task_struct *t = bpf_get_current_task_btf();
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	if (exe)
		put_len(s, w_dentry_path(s, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt)));
	else
		p_empty(s);
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	struct pid *pg = BPF_CORE_READ(leader, signal, pids[PIDTYPE_PGID]);
	p_s64(s, pg ? BPF_CORE_READ(pg, numbers[0].nr) : 0);
	p_u32(s, task_egid(t));
	if (with_filename) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();
		struct exec_path *ep = ret == 0 ? bpf_map_lookup_elem(&exec_paths, &tid) : NULL;
		if (ep) {
			put_len(s, w_kernel_str(s, ep->path, MAX_PATH));
			bpf_map_delete_elem(&exec_paths, &tid);
		} else {
			p_user_str(s, ARG0(regs), MAX_PATH);
		}
	}
	ev_submit(s);
	return 0;
}

EXIT_PROG(x_execve)
{
	BEGIN(PPME_SYSCALL_EXECVE_19_X, 31);
	return emit_exec_1(s, ctx, regs, ret, 1, STAGE_EXECVE_2);
}
EXIT_PROG(stage_execve_2) { return emit_exec_2(ctx, regs, ret, 2, STAGE_EXECVE_3); }
EXIT_PROG(stage_execve_3) { return emit_exec_3(regs, ret, 1); }

EXIT_PROG(x_execveat)
{
	BEGIN(PPME_SYSCALL_EXECVEAT_X, 30);
	return emit_exec_1(s, ctx, regs, ret, 2, STAGE_EXECVEAT_2);
}
EXIT_PROG(stage_execveat_2) { return emit_exec_2(ctx, regs, ret, 3, STAGE_EXECVEAT_3); }
EXIT_PROG(stage_execveat_3) { return emit_exec_3(regs, ret, 0); }

/* Marks a thread entering execveat. Attached only when execveat is captured; kprobes and fentry
 * would be cheaper but are not available on every kernel (this one has neither), while the raw
 * syscall tracepoint is there wherever the exit side works. Its cost is one comparison per syscall. */
SEC("tp_btf/sys_enter")
int BPF_PROG(vigil_execveat_enter, struct pt_regs *regs, long id)
{
	if (id != NR_EXECVEAT)
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u8 one = 1;
	bpf_map_update_elem(&execveat_pending, &tid, &one, BPF_ANY);
	return 0;
}

/* Saves the path a successful exec ran, for the execve exit event. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct scratch *s = scratch_get();
	if (!s)
		return 0;
	/* The scratch buffer is free here (no event is being built on this CPU): use it as the
	 * staging area, since a 4 KiB value does not fit on the BPF stack. */
	struct exec_path *ep = (struct exec_path *)&s->data[0];
	if (bpf_probe_read_kernel_str(ep->path, sizeof(ep->path), BPF_CORE_READ(bprm, filename)) <= 0)
		return 0;
	bpf_map_update_elem(&exec_paths, &tid, ep, BPF_ANY);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Process exit.                                                                               */

SEC("tp_btf/sched_process_exit")
int BPF_PROG(vigil_sched_exit, struct task_struct *p)
{
	if (BPF_CORE_READ(p, flags) & PF_KTHREAD)
		return 0;
	struct scratch *s = scratch_get();
	if (!s)
		return 0;
	ev_begin(s, PPME_PROCEXIT_1_E, 5);
	__s32 code = BPF_CORE_READ(p, exit_code);
	p_s64(s, code);
	p_s64(s, (code >> 8) & 0xff);
	__u8 sig = code & 0x7f;
	/* A terminating signal is in the low 7 bits (0x7f means "stopped", not a signal). */
	p_u8(s, (sig != 0 && sig != 0x7f) ? sig : 0);
	p_u8(s, (code & 0x80) ? 1 : 0);
	/* Who inherits the children: another thread of the group while one is alive (0 here, the
	 * reader keeps them in the group), else the pid namespace's reaper. */
	__s64 reaper = 0;
	if (BPF_CORE_READ(p, signal, live.counter) == 0) {
		struct pid *pid = BPF_CORE_READ(p, thread_pid);
		unsigned int level = BPF_CORE_READ(pid, level);
		struct upid up = {};
		bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
		struct task_struct *r = BPF_CORE_READ(up.ns, child_reaper);
		if (r)
			reaper = BPF_CORE_READ(r, pid);
	}
	p_s64(s, reaper);
	ev_submit(s);
	return 0;
}
