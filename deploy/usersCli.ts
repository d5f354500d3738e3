/**
 * `npx gft users add-consumer NAME [--namespace NS…] | list | remove NAME` — outside consumers of the
 * local secured stack (`gft stack up --secure`): see docs/consumers.md and deploy/security/users.ts.
 */
import { formatHelp, parseArgs, UsageError, type CommandSpec } from '../lib/cli/args.ts';

export const summary = 'outside consumers of the secured stack: users add-consumer NAME | list | remove NAME';

const spec: CommandSpec = {
  usage: 'gft users add-consumer <name> [--namespace NS]… | gft users list [--acls] | gft users remove <name>',
  description: [
    'add-consumer  a Kafka SCRAM user (SHA-512 and SHA-256) that may read only the public product topics',
    '              (gic.products, fsc.receipts) with consumer groups named <name>.<anything>, and a',
    '              read-only registry user; prints the credentials ONCE (they are not kept). Running it',
    '              again for the same name issues a new password (the old one stops working).',
    'list          users with SCRAM credentials and what each may do (--acls: every ACL)',
    'remove        deletes a consumer\'s credentials, ACLs and registry user',
    '',
    'Needs the local secured stack (gft stack up --secure): the registry restarts to learn a user (~10 s).',
  ].join('\n'),
  options: {
    namespace: { type: 'string', multiple: true, description: 'add-consumer: also the public topics of this run namespace (repeatable; default: the production names only)' },
    production: { type: 'boolean', description: 'add-consumer: the production topic names (--no-production: only the --namespace ones)', default: true },
    acls: { type: 'boolean', description: 'list: print every ACL of every user', default: false },
    json: { type: 'boolean', description: 'add-consumer/list: print JSON', default: false },
  },
};

export async function run(args: string[]): Promise<number> {
  const a = parseArgs(args, spec);
  const [cmd, name, ...rest] = a.positionals;
  if (a.help || !cmd) {
    console.log(formatHelp(spec));
    return a.help ? 0 : 2;
  }
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  const { platformConfig } = await import('../lib/config/platform.ts');
  const { resolve } = await import('node:path');
  const stack = await import('./stack.ts');
  const users = await import('./security/users.ts');
  const { checkConsumerName, describeAcls, formatRule, PUBLIC_TOPICS } = await import('../lib/runtime/acls.ts');
  const cfg = platformConfig();
  const home = resolve(cfg.home);
  const l = stack.layout(home);
  if (!l.secure) throw new UsageError(`the local stack in ${home} is not secured: run \`npx gft stack up --secure\` first`);
  const internal = stack.internalBrokers(cfg, l);
  switch (cmd) {
    case 'add-consumer': {
      if (!name) throw new UsageError('add-consumer: expected a name (your team, e.g. acme-followup)');
      const bad = checkConsumerName(name);
      if (bad) throw new UsageError(`add-consumer: ${bad}`);
      const namespaces = [...(a.options.production ? [''] : []), ...((a.options.namespace as string[] | undefined) ?? [])];
      if (!namespaces.length) throw new UsageError('add-consumer: --no-production needs at least one --namespace');
      const c = await users.addConsumer(home, internal, name, namespaces);
      await stack.restartIfRunning('registry', { log: (s) => console.error(s) });
      const topics = namespaces.flatMap((ns) => PUBLIC_TOPICS.map((t) => (ns ? `${ns}.${t}` : t)));
      const info = {
        user: c.user,
        password: c.password,
        mechanisms: ['SCRAM-SHA-512', 'SCRAM-SHA-256'],
        bootstrap: cfg.kafkaBrokers,
        caFile: (await import('../lib/config/localSecure.ts')).caFile(home),
        registry: cfg.registryUrl,
        topics,
        groups: `${name}.*`,
      };
      if (a.options.json) console.log(JSON.stringify(info, null, 2));
      else
        console.log(
          [
            `consumer ${c.user} created. Its password is shown this once; store it now (it is not kept anywhere).`,
            '',
            `  user          ${c.user}`,
            `  password      ${c.password}`,
            `  mechanism     SCRAM-SHA-512 (SCRAM-SHA-256 also works), over TLS`,
            `  bootstrap     ${info.bootstrap.join(',')}`,
            `  CA file       ${info.caFile}   (give it to the team with the credentials)`,
            `  registry      ${info.registry}   (HTTP basic auth, same user and password, read-only)`,
            `  may read      ${topics.join(', ')}`,
            `  groups        ${name}.<anything>`,
            '',
            'examples/product-consumer.ts (docs/consumers.md):',
            `  GFT_KAFKA_SASL_PASSWORD_FILE=<file holding the password> npx tsx examples/product-consumer.ts \\`,
            `    --brokers ${info.bootstrap.join(',')} --ca ${info.caFile} --sasl-user ${c.user} --registry ${info.registry} \\`,
            `    --group ${name}.products --topic ${topics[0]} --out ./products`,
          ].join('\n'),
        );
      return 0;
    }
    case 'list': {
      const [scram, admin] = await Promise.all([users.listScramUsers(home, internal), users.operatorAdmin(home, internal)]);
      try {
        const rules = await describeAcls(admin);
        const rows = scram.map((u) => ({ ...u, kind: users.INTERNAL_PRINCIPALS.includes(u.user) ? (u.user === 'admin' ? 'operator (super user)' : u.user === 'registry' ? 'registry' : 'stage') : 'outside consumer', acls: rules.filter((r) => r.principal === u.user) }));
        if (a.options.json) {
          console.log(JSON.stringify(rows, null, 2));
          return 0;
        }
        for (const r of rows) {
          console.log(`${r.user.padEnd(18)} ${r.kind.padEnd(22)} ${r.mechanisms.join(',').padEnd(28)} ${r.acls.length} ACLs`);
          if (a.options.acls || r.kind === 'outside consumer') for (const x of r.acls) console.log(`    ${formatRule(x)}`);
        }
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case 'remove': {
      if (!name) throw new UsageError('remove: expected a name');
      if (users.INTERNAL_PRINCIPALS.includes(name)) throw new UsageError(`remove: '${name}' is a principal of the stack itself`);
      const n = await users.removeUser(home, internal, name);
      await stack.restartIfRunning('registry', { log: (s) => console.error(s) });
      console.log(`removed ${name}: SCRAM credentials, ${n} ACLs, registry user`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${cmd}'\n\n${formatHelp(spec)}`);
  }
}
