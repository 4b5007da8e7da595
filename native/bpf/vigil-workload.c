// SPDX-License-Identifier: Apache-2.0
/*
 * vigil-workload: makes exactly the syscalls the capture tests and the overhead benchmark need,
 * with no runtime of its own in the way (a shell or Node would add opens, mmaps and threads).
 *
 *   vigil-workload scenario FILE DIR PORT EXE [ARGS...]
 *       prints {"pid":..,"tid":..} and flushes, then: openat(FILE, O_RDONLY|O_CLOEXEC) + close,
 *       mkdir(DIR) + rmdir(DIR), socket + connect to 127.0.0.1:PORT + close, and finally
 *       execv(EXE, [EXE, ARGS...]).
 *   vigil-workload storm N FILE
 *       N times openat(FILE, O_RDONLY) + close; prints {"pairs":N,"ns":elapsed,"cpuNs":cpu time}.
 *   vigil-workload paced PAIRS_PER_S SECONDS FILE [FILE2]
 *       the same pairs at a steady rate (in 1 ms slices) for SECONDS; prints the same JSON plus
 *       "behindMs", how far the storm ended behind its schedule (0 when it kept the pace). With
 *       FILE2 the opens alternate between the two files, so that no open repeats the one before it
 *       (the agent and the probe then evaluate and send every one).
 *   vigil-workload tour DIR
 *       one call of each other syscall the probe decodes, with known arguments, in DIR; prints
 *       what the test cannot know in advance (ports, child pids, fds) as JSON, then ends with a
 *       successful execveat of /bin/true.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int scenario(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: vigil-workload scenario FILE DIR PORT EXE [ARGS...]\n");
		return 2;
	}
	const char *file = argv[2], *dir = argv[3], *exe = argv[5];
	int port = atoi(argv[4]);
	printf("{\"pid\":%d,\"tid\":%ld}\n", getpid(), (long)syscall(SYS_gettid));
	fflush(stdout);

	int fd = openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);

	mkdir(dir, 0750);
	rmdir(dir);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s >= 0) {
		struct sockaddr_in sin;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		connect(s, (struct sockaddr *)&sin, sizeof(sin));
		close(s);
	}

	execv(exe, &argv[5]);
	perror("execv");
	return 127;
}

static int storm(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: vigil-workload storm N FILE\n");
		return 2;
	}
	long n = atol(argv[2]);
	const char *file = argv[3];
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		int fd = openat(AT_FDCWD, file, O_RDONLY);
		if (fd < 0) {
			perror("openat");
			return 1;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	/* CPU time too: on a busy machine the wall time mostly measures the wait for a CPU, while the
	 * CPU time (user + system, where the probe runs) measures the work. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	long long cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
			(long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
	printf("{\"pairs\":%ld,\"ns\":%lld,\"cpuNs\":%lld}\n", n, ns, cpu);
	return 0;
}


static long long cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static long long ts_ns(const struct timespec *t) { return (long long)t->tv_sec * 1000000000LL + t->tv_nsec; }

/* A rate test for the capture pipeline: a known event rate (2 events per pair) held for a while,
 * so drops and memory can be judged at that rate rather than at the storm's maximum. */
static int paced(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: vigil-workload paced PAIRS_PER_S SECONDS FILE [FILE2]\n");
		return 2;
	}
	long rate = atol(argv[2]);
	double secs = atof(argv[3]);
	const char *files[2] = {argv[4], argc >= 6 ? argv[5] : argv[4]};
	if (rate <= 0 || secs <= 0) {
		fprintf(stderr, "paced: rate and seconds must be positive\n");
		return 2;
	}
	long slices = (long)(secs * 1000);
	struct timespec start, next, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	next = start;
	long done = 0;
	for (long k = 1; k <= slices; k++) {
		/* Pairs due by the end of slice k: rounding carried over keeps the average exact. */
		long due = (long)((long long)rate * k / 1000);
		for (; done < due; done++) {
			int fd = openat(AT_FDCWD, files[done & 1], O_RDONLY);
			if (fd < 0) {
				perror("openat");
				return 1;
			}
			close(fd);
		}
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	long long ns = ts_ns(&end) - ts_ns(&start);
	long long behind = ns - (long long)(secs * 1e9);
	printf("{\"pairs\":%ld,\"ns\":%lld,\"cpuNs\":%lld,\"behindMs\":%lld}\n", done, ns, cpu_ns(),
	       behind > 1000000 ? behind / 1000000 : 0);
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	static char bufs[16][512];
	static int next;
	char *b = bufs[next++ & 15];
	snprintf(b, 512, "%s/%s", dir, name);
	return b;
}

static int port_of(int s)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	getsockname(s, (struct sockaddr *)&sin, &len);
	return ntohs(sin.sin_port);
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

struct clone3_args {
	unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int tour(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: vigil-workload tour DIR\n");
		return 2;
	}
	const char *dir = argv[2];
	const char *c = path_in(dir, "c.txt");

	/* Files. */
	int fd = creat(c, 0640);
	close(fd);
	fd = (int)syscall(SYS_open, c, O_WRONLY | O_APPEND);
	close(fd);
	struct open_how how = {.flags = O_RDONLY, .mode = 0, .resolve = RESOLVE_NO_SYMLINKS};
	int fd2 = (int)syscall(SYS_openat2, AT_FDCWD, c, &how, sizeof(how));
	close(fd2);
	fd = open(c, O_RDONLY);
	int d1 = dup(fd);
	int d2 = dup2(fd, 50);
	int d3 = dup3(fd, 51, O_CLOEXEC);
	close(d1);
	close(d2);
	close(d3);
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	symlink("c.txt", path_in(dir, "s.lnk"));
	symlinkat("c.txt", dirfd, "s2.lnk");
	link(c, path_in(dir, "h.txt"));
	linkat(AT_FDCWD, c, AT_FDCWD, path_in(dir, "h2.txt"), 0);
	rename(path_in(dir, "h.txt"), path_in(dir, "h3.txt"));
	renameat(AT_FDCWD, path_in(dir, "h3.txt"), AT_FDCWD, path_in(dir, "h4.txt"));
	syscall(SYS_renameat2, AT_FDCWD, path_in(dir, "h4.txt"), AT_FDCWD, path_in(dir, "h5.txt"), 1 /* RENAME_NOREPLACE */);
	chmod(c, 0600);
	fchmod(fd, 0644);
	fchmodat(AT_FDCWD, c, 0604, 0);
	mkdirat(AT_FDCWD, path_in(dir, "d"), 0700);
	unlinkat(AT_FDCWD, path_in(dir, "d"), AT_REMOVEDIR);
	unlink(path_in(dir, "h5.txt"));
	unlinkat(AT_FDCWD, path_in(dir, "h2.txt"), 0);
	int mfd = memfd_create("vigil-memfd", MFD_CLOEXEC);
	close(mfd);
	close(fd);

	/* UDP: bind, sendto and sendmsg to itself. */
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in any = loopback(0);
	bind(u, (struct sockaddr *)&any, sizeof(any));
	int uport = port_of(u);
	struct sockaddr_in self = loopback(uport);
	sendto(u, "hello-vigil", 11, 0, (struct sockaddr *)&self, sizeof(self));
	char msgbuf[] = "msg-vigil";
	struct iovec iov = {msgbuf, 9};
	struct msghdr mh;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &self;
	mh.msg_namelen = sizeof(self);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	sendmsg(u, &mh, 0);
	close(u);

	/* TCP: listen, connect, accept4. */
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	bind(ls, (struct sockaddr *)&any, sizeof(any));
	listen(ls, 5);
	int lport = port_of(ls);
	int cs = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = loopback(lport);
	connect(cs, (struct sockaddr *)&to, sizeof(to));
	int cport = port_of(cs);
	int as = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	close(as);
	close(cs);
	close(ls);

	/* Credentials, signals, namespaces, tracing, modules, mounts. */
	setuid(getuid());
	setgid(getgid());
	kill(getpid(), 0);
	syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), 0);
	syscall(SYS_tkill, (pid_t)syscall(SYS_gettid), 0);
	int unshare_res = unshare(CLONE_NEWUTS);
	int nsfd = open("/proc/self/ns/uts", O_RDONLY);
	int setns_res = setns(nsfd, CLONE_NEWUTS);
	close(nsfd);
	ptrace(PTRACE_PEEKDATA, 999999999, (void *)0x1000, (void *)0);
	syscall(SYS_init_module, "notamodule", 10UL, "vigil=1");
	fd = open(c, O_RDONLY);
	syscall(SYS_finit_module, fd, "vigil=2", 0);
	close(fd);
	const char *mnt = path_in(dir, "m");
	mkdir(mnt, 0700);
	int mount_res = mount("vigil-tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m");
	umount2(mnt, MNT_DETACH);

	/* Processes: fork, vfork and clone3 children that exit with known codes, one killed. */
	pid_t f = fork();
	if (f == 0)
		_exit(3);
	waitpid(f, NULL, 0);
	pid_t v = vfork();
	if (v == 0)
		_exit(0);
	waitpid(v, NULL, 0);
	struct clone3_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	pid_t c3 = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (c3 == 0)
		_exit(0);
	waitpid(c3, NULL, 0);
	pid_t k = fork();
	if (k == 0) {
		pause();
		_exit(0);
	}
	kill(k, SIGKILL);
	waitpid(k, NULL, 0);

	printf("{\"pid\":%d,\"udpPort\":%d,\"listenPort\":%d,\"clientPort\":%d,\"dirfd\":%d,"
	       "\"fork\":%d,\"vfork\":%d,\"clone3\":%d,\"killed\":%d,\"unshare\":%d,\"setns\":%d,\"mount\":%d}\n",
	       getpid(), uport, lport, cport, dirfd, f, v, c3, k, unshare_res, setns_res, mount_res);
	fflush(stdout);

	/* Failing execs (the arguments come from the caller's memory), then a successful execveat. */
	char *args[] = {"vigil-argv0", "one", NULL};
	char *envp[] = {"VIGIL_ENV=1", NULL};
	execve(path_in(dir, "missing-binary"), args, envp);
	syscall(SYS_execveat, AT_FDCWD, path_in(dir, "missing-too"), args, envp, 0);
	char *targs[] = {"/bin/true", "tour-done", NULL};
	syscall(SYS_execveat, AT_FDCWD, "/bin/true", targs, envp, 0);
	perror("execveat");
	return 127;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "scenario") == 0)
		return scenario(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "storm") == 0)
		return storm(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "tour") == 0)
		return tour(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "paced") == 0)
		return paced(argc, argv);
	fprintf(stderr, "usage: vigil-workload scenario|storm|paced|tour ...\n");
	return 2;
}
