import { describe, expect, it } from 'vitest';
import { ProcessTable, type ThreadSeed } from './process-table.js';

function seed(tid: number, ptid: number, comm: string, extra: Partial<ThreadSeed> = {}): ThreadSeed {
  return { tid, pid: tid, ptid, comm, exe: comm, args: [], cwd: '/', uid: 0, gid: 0, ...extra };
}

describe('ProcessTable', () => {
  it('resolves parents, the process of a thread and the session leader through the table', () => {
    const t = new ProcessTable();
    t.add(seed(1, 0, 'systemd', { sid: 1 }));
    t.add(seed(10, 1, 'sshd', { sid: 10 }));
    t.add(seed(20, 10, 'bash', { sid: 20 }));
    t.add(seed(30, 20, 'curl', { sid: 20 }));
    t.add({ ...seed(31, 30, 'curl'), pid: 30, sid: 20 });
    const thread = t.get(31);
    expect(thread?.mainThread?.tid).toBe(30);
    // A thread's parent is its process's parent (Falco's proc.pname for threads).
    expect(thread?.parent?.comm).toBe('bash');
    expect(thread?.ppid).toBe(20);
    expect(thread?.sessionLeader?.comm).toBe('bash');
    expect(t.get(10)?.sessionLeader?.comm).toBe('sshd');
  });

  it('shares cwd and fds between the threads of a process', () => {
    const t = new ProcessTable();
    const main = t.add(seed(30, 1, 'app', { cwd: '/srv' }));
    const th = t.add({ ...seed(31, 30, 'app'), pid: 30 });
    expect(th.cwd).toBe('/srv/');
    th.cwd = '/tmp/';
    expect(main.cwd).toBe('/tmp/');
    th.fdTable.set(3, { num: 3, type: 'file', name: '/x' });
    expect(main.fds.get(3)?.name).toBe('/x');
  });

  it('keeps an exited parent while children need it, then reaps it', () => {
    const t = new ProcessTable();
    t.add(seed(1, 0, 'init'));
    t.add(seed(10, 1, 'parent'));
    t.add(seed(11, 10, 'child'));
    t.markExited(10);
    expect(t.get(10)).toBeDefined();
    expect(t.get(11)?.parent?.comm).toBe('parent');
    t.markExited(11);
    expect(t.get(11)).toBeUndefined();
    expect(t.get(10)).toBeUndefined();
    expect(t.get(1)?.children).toBe(0);
  });

  it('stays within its cap', () => {
    const t = new ProcessTable({ maxThreads: 5 });
    for (let i = 1; i <= 20; i++) t.add(seed(i, 0, `p${i}`));
    expect(t.size).toBe(5);
    expect(t.evicted).toBe(15);
  });

  it('names users and groups from the user table', () => {
    const t = new ProcessTable();
    t.users.addUser({ uid: 1000, gid: 1000, name: 'alice', homedir: '/home/alice', shell: '/bin/zsh' });
    t.users.addGroup({ gid: 1000, name: 'staff' });
    const p = t.add(seed(5, 0, 'x', { uid: 1000, gid: 1000, loginuid: 1000 }));
    expect([p.userName, p.homedir, p.shell, p.groupName, p.loginName]).toEqual([
      'alice',
      '/home/alice',
      '/bin/zsh',
      'staff',
      'alice',
    ]);
    const placeholder = t.addIncomplete(6);
    expect([placeholder.comm, placeholder.uid, placeholder.loginuid, placeholder.userName]).toEqual([
      '<NA>',
      0xffffffff,
      -1,
      undefined,
    ]);
  });
});
