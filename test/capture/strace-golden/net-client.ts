/**
 * The loopback network program the strace golden fixture net-client.txt and the live ptrace
 * test run (node, ESM). It lives in a string because it runs as its own process: the live test
 * writes it to a temporary .mjs file, and record.sh extracts it the same way.
 */
export const NET_CLIENT_PROGRAM = String.raw`// Loopback networking for the strace golden fixtures and the live ptrace test: a TCP server and
// client on 127.0.0.1 and on ::1, a UDP datagram, and a unix socket connection. The TCP clients
// stay connected VIGIL_NET_HOLD_MS (default 0) before closing, so a tracer can look at them.
import dgram from 'node:dgram';
import net from 'node:net';
import { rmSync } from 'node:fs';

const hold = Number(process.env.VIGIL_NET_HOLD_MS ?? 0);

function tcp(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.end('hi');
    });
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      const c = net.connect(port, host, () => c.write('x'));
      c.on('error', reject);
      c.on('data', () => setTimeout(() => c.destroy(), hold));
      c.on('close', () => {
        srv.close();
        resolve(port);
      });
    });
  });
}

function udp() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.send('ping', 9, '127.0.0.1', () => {
      s.close();
      resolve();
    });
  });
}

function unix(path) {
  rmSync(path, { force: true });
  return new Promise((resolve, reject) => {
    const srv = net.createServer((s) => {
      s.on('error', () => {});
      s.end('hi');
    });
    srv.listen(path, () => {
      const c = net.connect(path);
      c.on('error', reject);
      c.on('data', () => c.destroy());
      c.on('close', () => {
        srv.close();
        resolve();
      });
    });
  });
}

const port4 = await tcp('127.0.0.1');
let port6 = 0;
try {
  port6 = await tcp('::1');
} catch {
  // no IPv6 loopback on this machine
}
await udp();
await unix(process.argv[2] ?? '/tmp/vigil-ptrace-test.sock');
process.stdout.write(JSON.stringify({ port4, port6 }) + '\n');
`;
