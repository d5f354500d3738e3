/**
 * A throw-away ClickHouse cluster for tests: Debian's ZooKeeper (standalone, 127.0.0.1) and two
 * Debian clickhouse-server 18.16 processes that are the two replicas of one shard of cluster `name`
 * (macros {shard}=01, {replica}=r1|r2, distributed DDL queue in ZooKeeper, interserver replication
 * on loopback). Everything lives in a temporary folder, on free ports, as children of the test
 * process, and `stop()` ends exactly those processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverBinary, usersXml } from '../../deploy/services/clickhouse.ts';

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';

/** null when the tools are installed, else why not. */
export function testClusterProblem(): string | null {
  if (!existsSync(ZOOKEEPER_JAR)) return `no ZooKeeper (${ZOOKEEPER_JAR}; Debian package zookeeper, installed by deploy/install-debian.sh)`;
  try {
    serverBinary();
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface TestCluster {
  name: string;
  /** HTTP URLs of replica 1 and replica 2 */
  urls: [string, string];
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode})\n${log()}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not up in ${timeoutMs / 1000} s\n${log()}`);
    await sleep(200);
  }
}

/**
 * ZooKeeper serving requests: `srvr` answers with its mode only once the server runs (`ruok` answers
 * `imok` as soon as the port is open, while client sessions are still refused; 18.16 then crashes in
 * its ZooKeeper client).
 */
const serving = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    let out = '';
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.on('connect', () => s.write('srvr'));
    s.on('data', (b) => (out += b.toString()));
    s.on('close', () => resolve(/Mode: /.test(out)));
    s.on('error', () => resolve(false));
  });

export async function startTestCluster(name = 'gft_test'): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'gft-chcluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGTERM');
    const t0 = Date.now();
    while (children.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() - t0 < 15_000) await sleep(100);
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const zk = await freePort();
    mkdirSync(join(dir, 'zk'), { recursive: true });
    writeFileSync(join(dir, 'zk', 'zoo.cfg'), `tickTime=2000\ndataDir=${join(dir, 'zk')}\nclientPort=${zk}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxClientCnxns=200\n4lw.commands.whitelist=srvr\n`);
    const zkProc = spawn('java', ['-Xmx256m', `-Dzookeeper.log.dir=${join(dir, 'zk')}`, '-cp', `${ZOOKEEPER_JAR}:/etc/zookeeper/conf`, 'org.apache.zookeeper.server.ZooKeeperServerMain', join(dir, 'zk', 'zoo.cfg')], { stdio: 'ignore' });
    children.push(zkProc);
    await waitFor('zookeeper', () => serving(zk), zkProc, 60_000, () => '');

    const ports = await Promise.all([0, 1].map(async () => ({ http: await freePort(), tcp: await freePort(), inter: await freePort() })));
    const remote = `<remote_servers><${name}><shard><internal_replication>true</internal_replication>${ports.map((p) => `<replica><host>127.0.0.1</host><port>${p.tcp}</port></replica>`).join('')}</shard></${name}></remote_servers>`;
    for (const [i, p] of ports.entries()) {
      const d = join(dir, `ch${i + 1}`);
      for (const sub of ['data', 'tmp', 'uf', 'fs']) mkdirSync(join(d, sub), { recursive: true });
      writeFileSync(
        join(d, 'config.xml'),
        `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${d}/server.log</log><errorlog>${d}/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${p.http}</http_port><tcp_port>${p.tcp}</tcp_port>
  <interserver_http_port>${p.inter}</interserver_http_port><interserver_http_host>127.0.0.1</interserver_http_host>
  <path>${d}/data/</path><tmp_path>${d}/tmp/</tmp_path><user_files_path>${d}/uf/</user_files_path><format_schema_path>${d}/fs/</format_schema_path>
  <users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
  <timezone>UTC</timezone><mark_cache_size>268435456</mark_cache_size><max_concurrent_queries>50</max_concurrent_queries>
  <zookeeper><node><host>127.0.0.1</host><port>${zk}</port></node></zookeeper>
  <macros><shard>01</shard><replica>r${i + 1}</replica></macros>
  ${remote}
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
`,
      );
      // Writes through a Distributed table return once they are on a replica (tests read right after).
      writeFileSync(join(d, 'users.xml'), usersXml.replace('<load_balancing>random</load_balancing>', '<load_balancing>random</load_balancing>\n      <insert_distributed_sync>1</insert_distributed_sync>'));
      const ch = spawn(serverBinary(), [`--config-file=${join(d, 'config.xml')}`], { cwd: d, stdio: 'ignore' });
      children.push(ch);
    }
    await Promise.all(
      ports.map((p, i) =>
        waitFor(
          `clickhouse replica ${i + 1}`,
          async () => (await fetch(`http://127.0.0.1:${p.http}/ping`, { signal: AbortSignal.timeout(1000) })).ok,
          children[i + 1],
          60_000,
          () => '',
        ),
      ),
    );
    return { name, urls: [`http://127.0.0.1:${ports[0].http}`, `http://127.0.0.1:${ports[1].http}`], stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
