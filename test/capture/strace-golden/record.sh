#!/bin/sh
# Records the strace golden fixtures on this machine (Debian 12, strace 6.1). Each fixture starts
# with `#` lines giving the command; the rest is strace's output, unedited. The strace options must
# stay those `straceArgs` builds in src/capture/sources/ptrace/parse.ts (a test checks the header).
#
#   sh test/capture/strace-golden/record.sh [fixture...]     (default: all)
#
# Recording changes pids, inodes and temporary paths, which the tests in
# src/capture/sources/ptrace/translate.test.ts name: update them with the fixture.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

OPTS="-f --absolute-timestamps=format:unix,precision:ns --syscall-times=ns -yy -Y -v -s 4096 -e signal=none"
STATE="?clone,?clone3,?fork,?vfork,?execve,?execveat,?open,?openat,?openat2,?creat,?close,?dup,?dup2,?dup3,?socket,?socketpair,?bind,?connect,?accept,?accept4,?pipe,?pipe2,?chdir,?fchdir,?setuid,?setgid"
ALL="$STATE,?listen,?sendto,?sendmsg,?ptrace,?init_module,?finit_module,?mount,?umount2,?setns,?unshare,?memfd_create,?symlink,?symlinkat,?link,?linkat,?unlink,?unlinkat,?rename,?renameat,?renameat2,?chmod,?fchmod,?fchmodat,?mkdir,?mkdirat,?rmdir,?kill,?tkill,?tgkill"

wanted() {
  [ -z "$only" ] && return 0
  case " $only " in *" $1 "*) return 0 ;; esac
  return 1
}
only="$*"

# The network program lives in net-client.ts (a string): write it out as a .mjs file.
node -e 'const t=require("fs").readFileSync(process.argv[1],"utf8"); process.stdout.write(t.slice(t.indexOf("`")+1, t.lastIndexOf("`")))' \
  "$here/net-client.ts" >"$work/net-client.mjs"

record() {
  name=$1
  shift
  wanted "$name" || return 0
  out="$here/$name.txt"
  {
    echo "# strace $OPTS -e quiet=attach,personality -e trace=$ALL --seccomp-bpf -o FILE -- $*"
    echo "# recorded with $(strace -V | head -1) on $(uname -srm)"
  } >"$out"
  (cd "$work" && env -i PATH=/usr/bin:/bin HOME=/root LANG=C strace $OPTS -e quiet=attach,personality \
    -e trace="$ALL" --seccomp-bpf -o "$work/trace.txt" -- "$@" >/dev/null 2>&1) || true
  cat "$work/trace.txt" >>"$out"
}

record sh-cat-ls sh -c 'cat /etc/hostname; ls /tmp > /dev/null'
record net-client node "$work/net-client.mjs" "$work/vigil.sock"
record file-ops sh -c 'mkdir d && cd d && echo x > f && ln -s f s && ln f h && mv h h2 && chmod 600 f && rm -f h2 s && cd .. && rm -r d; nonexistent-command; sleep 5 & kill -9 $!; wait'
record misc python3 "$here/misc.py" "$work"

# Attaching to a running process (-p): a shell loop that opens a file now and then.
wanted attach || exit 0
(cd "$work" && env -i PATH=/usr/bin:/bin sh -c 'while :; do cat /etc/hostname >/dev/null; sleep 0.2; done' \
  </dev/null >/dev/null 2>&1 & echo $! >"$work/loop.pid")
loop=$(cat "$work/loop.pid")
sleep 0.3
out="$here/attach.txt"
{
  echo "# strace $OPTS -e quiet=personality -e trace=$ALL -o FILE -p PID   (PID: sh -c 'while :; do cat /etc/hostname >/dev/null; sleep 0.2; done')"
  echo "# recorded with $(strace -V | head -1) on $(uname -srm)"
} >"$out"
strace $OPTS -e quiet=personality -e trace="$ALL" -o "$work/trace.txt" -p "$loop" 2>/dev/null &
tracer=$!
sleep 1
kill -TERM "$tracer"
wait "$tracer" || true
kill "$loop"
cat "$work/trace.txt" >>"$out"
