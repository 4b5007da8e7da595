# Syscalls for the strace golden fixtures that the shell does not make: memfd_create, setuid/setgid
# in a child, kill, ptrace, module loading (refused), unshare + mount + umount2, setns, execveat,
# socketpair, pipe2, dup/dup2/dup3, renameat2, linkat, symlinkat, fchmod, chdir/fchdir.
import ctypes
import os
import signal
import sys

libc = ctypes.CDLL(None, use_errno=True)
work = sys.argv[1]
os.chdir(work)

fd = os.memfd_create("vigil-memfd", os.MFD_CLOEXEC)
os.write(fd, b"#!/bin/sh\nexit 0\n")
os.close(fd)

pid = os.fork()
if pid == 0:
    os.setgid(65534)
    os.setuid(65534)
    os._exit(3)
os.waitpid(pid, 0)

pid = os.fork()
if pid == 0:
    signal.pause()
    os._exit(0)
os.kill(pid, signal.SIGTERM)
os.waitpid(pid, 0)

# ptrace(PTRACE_TRACEME) fails under a tracer: the attempt is what rules look for.
libc.ptrace(0, 0, None, None)
# init_module/finit_module with bad arguments: refused, but traced.
libc.syscall(175, None, 0, b"")  # init_module (x86_64)
libc.syscall(313, -1, b"", 0)  # finit_module (x86_64)

pid = os.fork()
if pid == 0:
    libc.unshare(0x00020000)  # CLONE_NEWNS
    libc.mount(b"none", b"/mnt", b"tmpfs", 0, None)
    libc.umount2(b"/mnt", 2)
    os._exit(0)
os.waitpid(pid, 0)

nsfd = os.open("/proc/self/ns/uts", os.O_RDONLY)
libc.setns(nsfd, 0x04000000)
os.close(nsfd)

a, b = os.pipe2(os.O_CLOEXEC)
c = libc.dup(a)
os.dup2(c, 20)
os.dup2(b, 21, inheritable=False)
for x in (a, b, c, 20, 21):
    os.close(x)
import socket

s1, s2 = socket.socketpair()
s1.close()
s2.close()

open("f", "w").close()
os.link("f", "h")
os.symlink("f", "s")
os.rename("h", "h2")
d = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
libc.renameat2(d, b"h2", d, b"h3", 1)
libc.linkat(d, b"f", d, b"h4", 0)
libc.symlinkat(b"f", d, b"s2")
f = os.open("f", os.O_RDWR)
os.fchmod(f, 0o600)
os.close(f)
os.chmod("f", 0o4755)
os.mkdir("d", 0o700)
os.rmdir("d")
os.fchdir(d)
os.close(d)
for n in ("f", "h3", "h4", "s", "s2"):
    os.unlink(n)

# execveat of /bin/true through an O_PATH fd.
t = os.open("/bin/true", os.O_PATH)
pid = os.fork()
if pid == 0:
    libc.syscall(322, t, b"", (ctypes.c_char_p * 2)(b"true", None), (ctypes.c_char_p * 1)(None), 0x1000)
    os._exit(127)
os.waitpid(pid, 0)
os.close(t)
