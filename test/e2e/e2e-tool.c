/*
 * Actions the end-to-end tests need that no shell tool performs exactly (built with gcc -static
 * at test time, so it also runs inside busybox containers):
 *   connect ADDR PORT       listen on ADDR:PORT in this process, then connect to it (TCP)
 *   ptrace PID              PTRACE_ATTACH to PID, wait for the stop, detach
 *   finit_module FILE       finit_module(2) on FILE (a bogus module: the kernel refuses it)
 *   memfd_exec FILE ARG...  copy FILE into a memfd and execute it (fexecve) with ARG... as argv
 *   traceme                 PTRACE_TRACEME (the anti-debugging trick)
 *   chdir_open DIR FILE     chdir(DIR), then open FILE relative to it
 *   fchdir_open DIR FILE    open DIR, fchdir() to it, then open FILE relative to it
 *   reuse_fd FILE           open and close FILE, make a pipe (which gets FILE's fd number), dup
 *                           the pipe's read end
 *   cloexec_exec A B        open A close-on-exec and B not, then exec itself as dup_fds on both
 *   dup_fds FD...           dup() each FD (those closed by the exec fail with EBADF)
 * Extra arguments are ignored: the tests add a marker to find their own processes.
 * Exit status 0 when the action was performed (even if the kernel refused the module).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int do_connect(const char *addr, int port) {
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) return 2;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 1) != 0) {
		perror("listen");
		return 3;
	}
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		return 4;
	}
	int a = accept(l, NULL, NULL);
	close(a);
	close(c);
	close(l);
	return 0;
}

static int do_ptrace(pid_t pid) {
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) {
		perror("ptrace");
		return 3;
	}
	int st;
	waitpid(pid, &st, 0);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}

static int do_finit(const char *file) {
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("open");
		return 3;
	}
	long r = syscall(SYS_finit_module, fd, "", 0);
	printf("finit_module=%ld errno=%d\n", r, r < 0 ? errno : 0);
	return 0;
}

static int do_memfd(const char *file, char **argv) {
	int src = open(file, O_RDONLY);
	if (src < 0) {
		perror("open");
		return 3;
	}
	struct stat st;
	fstat(src, &st);
	int m = (int)syscall(SYS_memfd_create, "vigil-e2e", 0);
	if (m < 0) {
		perror("memfd_create");
		return 3;
	}
	off_t off = 0;
	while (off < st.st_size)
		if (sendfile(m, src, &off, (size_t)(st.st_size - off)) <= 0) return 4;
	close(src);
	syscall(SYS_execveat, m, "", argv, environ, AT_EMPTY_PATH);
	perror("execveat");
	return 5;
}

static int do_chdir_open(const char *dir, const char *file, int by_fd) {
	if (by_fd) {
		int d = open(dir, O_RDONLY | O_DIRECTORY);
		if (d < 0 || fchdir(d) != 0) {
			perror("fchdir");
			return 3;
		}
	} else if (chdir(dir) != 0) {
		perror("chdir");
		return 3;
	}
	int fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror("open");
		return 4;
	}
	close(fd);
	return 0;
}

static int do_reuse_fd(const char *file) {
	int fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror("open");
		return 3;
	}
	close(fd);
	int p[2];
	if (pipe(p) != 0) {
		perror("pipe");
		return 4;
	}
	int d = dup(p[0]);
	printf("file=%d pipe=%d,%d dup=%d\n", fd, p[0], p[1], d);
	return p[0] == fd ? 0 : 5;
}

static int do_cloexec_exec(const char *a, const char *b, char *marker) {
	int fa = open(a, O_RDONLY | O_CLOEXEC);
	int fb = open(b, O_RDONLY);
	if (fa < 0 || fb < 0) {
		perror("open");
		return 3;
	}
	char sa[16], sb[16];
	snprintf(sa, sizeof sa, "%d", fa);
	snprintf(sb, sizeof sb, "%d", fb);
	char *args[] = {"e2e-tool", "dup_fds", sa, sb, marker, NULL};
	execv("/proc/self/exe", args);
	perror("execv");
	return 4;
}

static int do_dup_fds(int n, char **fds) {
	for (int i = 0; i < n; i++) {
		char *end = NULL;
		long fd = strtol(fds[i], &end, 10);
		if (*end) continue; /* the marker */
		int d = dup((int)fd);
		printf("dup(%ld)=%d errno=%d\n", fd, d, d < 0 ? errno : 0);
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 4 && strcmp(argv[1], "connect") == 0) return do_connect(argv[2], atoi(argv[3]));
	if (argc >= 3 && strcmp(argv[1], "ptrace") == 0) return do_ptrace((pid_t)atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "finit_module") == 0) return do_finit(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "traceme") == 0) {
		long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		printf("traceme=%ld\n", r);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "memfd_exec") == 0) return do_memfd(argv[2], argv + 3);
	if (argc >= 4 && strcmp(argv[1], "chdir_open") == 0) return do_chdir_open(argv[2], argv[3], 0);
	if (argc >= 4 && strcmp(argv[1], "fchdir_open") == 0) return do_chdir_open(argv[2], argv[3], 1);
	if (argc >= 3 && strcmp(argv[1], "reuse_fd") == 0) return do_reuse_fd(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "cloexec_exec") == 0)
		return do_cloexec_exec(argv[2], argv[3], argc >= 5 ? argv[4] : "");
	if (argc >= 2 && strcmp(argv[1], "dup_fds") == 0) return do_dup_fds(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: %s connect ADDR PORT | ptrace PID | finit_module FILE | memfd_exec FILE ARG... | traceme |\n"
		"       chdir_open DIR FILE | fchdir_open DIR FILE | reuse_fd FILE | cloexec_exec A B | dup_fds FD...\n",
		argv[0]);
	return 2;
}
