/**
 * `npx gft web` — the GIC web pages.
 *   gft web [--port 8080] [--host 127.0.0.1]          serve (Ctrl-C stops)
 *   gft web adduser NAME [--role admin|shifter|viewer]  create a user; the password is read from stdin
 *                                                      (piped) or asked without echo (terminal), never argv
 *   gft web passwd NAME                                set a user's password (same input rules)
 *   gft web migrate                                    create the web_ tables (the telemetry rollup comes from `gft db migrate`)
 *   gft web retention --days N                         drop rollup partitions (telemetry_1m, telemetry_10m) older than N days
 */
import { formatHelp, parseArgs, unknownSubcommand, UsageError, type CommandSpec } from '../lib/cli/args.ts';
import { platformConfig } from '../lib/config/platform.ts';
import { ClickHouse } from '../connectors/clickhouse/client.ts';
import { LocalStorage } from '../connectors/storage/storage.ts';
import { isRole } from './auth/roles.ts';
import { UserError, UserStore, AuditLog, ClickHouseSessions } from './auth/stores.ts';
import { SessionStore } from './auth/sessions.ts';
import { webConfig } from './config.ts';
import { migrateWeb } from './migrations.ts';
import { rollupRetention, rollupTable } from './rollup.ts';
import { WebServer } from './server.ts';

export const summary = 'GIC web pages (dashboard, weather, telescope, products, shifts, monitoring): web [--port N] | web adduser NAME';

const spec: CommandSpec = {
  usage: 'gft web [serve] [--port 8080] [--host 127.0.0.1] | gft web adduser NAME [--role viewer] | gft web passwd NAME | gft web migrate | gft web retention --days N',
  description:
    'serve: the web server (login required for everything but the login page).\n' +
    'adduser/passwd: the password is read from stdin when piped (first line), else asked without echo.\n' +
    'The first admin can also come from GFT_WEB_ADMIN_PASSWORD (created at start when no user exists).',
  options: {
    port: { type: 'number', description: 'listen port (GFT_WEB_PORT)' },
    host: { type: 'string', description: 'listen address (GFT_WEB_HOST)' },
    role: { type: 'string', description: 'role of the new user: admin, shifter or viewer', default: 'viewer' },
    days: { type: 'number', description: 'retention: keep this many days of the telemetry rollups (telemetry_1m, telemetry_10m)', default: 30 },
  },
};

async function readPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let data = '';
    for await (const c of stdin) data += c;
    return data.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let pw = '';
    const onData = (ch: string) => {
      for (const c of ch) {
        if (c === '\r' || c === '\n') {
          done();
          return resolve(pw);
        }
        if (c === '\u0003') {
          done();
          return reject(new UsageError('interrupted'));
        }
        if (c === '\u007f' || c === '\b') pw = pw.slice(0, -1);
        else pw += c;
      }
    };
    const done = () => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  if (a.help) {
    console.log(formatHelp(spec));
    return 0;
  }
  const [sub = 'serve', name] = a.positionals;
  const env = { ...process.env };
  if (a.options.port !== undefined) env.GFT_WEB_PORT = String(a.options.port);
  if (a.options.host !== undefined) env.GFT_WEB_HOST = String(a.options.host);
  const config = webConfig(env);
  const ch = new ClickHouse(platformConfig());

  if (sub === 'migrate') {
    try {
      const applied = await migrateWeb(ch, (s) => console.log(s));
      console.log(applied.length ? `database ${ch.database}: ${applied.length} web migrations applied` : `database ${ch.database}: web tables up to date`);
      if (!(await rollupTable(ch))) console.log('telemetry rollup: not there yet (`npx gft db migrate` or the ClickHouse sink creates it); the pages read raw rows until then');
      return 0;
    } finally {
      await ch.close();
    }
  }

  if (sub === 'retention') {
    try {
      const dropped = await rollupRetention(ch, Number(a.options.days));
      console.log(dropped.length ? `dropped ${dropped.join(', ')}` : 'nothing to drop');
      return 0;
    } finally {
      await ch.close();
    }
  }

  if (sub === 'adduser' || sub === 'passwd') {
    if (!name) throw new UsageError(`gft web ${sub} NAME`);
    const role = String(a.options.role);
    if (!isRole(role)) throw new UsageError(`--role: admin, shifter or viewer (got '${role}')`);
    try {
      await migrateWeb(ch);
      const users = new UserStore(ch, 0);
      const password = await readPassword(`password for ${name}: `);
      if (sub === 'adduser') await users.create(name, role, password, 'cli');
      else {
        await users.update(name, { password }, 'cli');
        // running servers see the revocation within 30 s (sessions.ts)
        await new SessionStore({ ttlMs: 1, idleMs: 1, persistence: new ClickHouseSessions(ch) }).destroyUser(name);
      }
      await new AuditLog(ch).record('cli', sub === 'adduser' ? 'user.create' : 'password.reset', name, sub === 'adduser' ? role : '');
      console.log(sub === 'adduser' ? `user ${name} (${role}) created` : `password of ${name} changed; their sessions are revoked`);
      return 0;
    } catch (e) {
      if (e instanceof UserError) {
        console.error(`gft web ${sub}: ${e.message}`);
        return 1;
      }
      throw e;
    } finally {
      await ch.close();
    }
  }

  if (sub !== 'serve') throw unknownSubcommand(sub, ['serve', 'adduser', 'passwd', 'migrate', 'retention'], formatHelp(spec));
  const server = new WebServer({ config, ch, storage: LocalStorage.fromEnv() });
  let url: string;
  try {
    url = await server.start();
  } catch (e) {
    await server.stop().catch(() => {});
    await ch.close();
    if (e instanceof UserError) {
      console.error(`gft web: GFT_WEB_ADMIN_PASSWORD refused: ${e.message}`);
      return 1;
    }
    throw e;
  }
  server.log.info('web server listening', { url, sdb: config.sdbDatabase, database: ch.database });
  console.log(`GIC web pages on ${url}`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.stop();
  await ch.close();
  return 0;
}
