import { Command } from 'commander';
import { VERSION } from '../version.js';
import { adminCommands } from './admin.js';
import { appCommands } from './apps.js';
import { artifactCommands } from './artifacts.js';
import { auditCommands } from './audit.js';
import { brandCommands } from './brands.js';
import { withClient } from './context.js';
import { continuityCommands } from './continuity.js';
import { deviceCommands } from './devices.js';
import { disclosureCommands } from './disclosures.js';
import { escrowCommands } from './escrow.js';
import { evidenceCommands } from './evidence.js';
import { handoverCommands, sunsetCommand } from './handover.js';
import { migrateCommand } from './migrate.js';
import { notificationCommands } from './notifications.js';
import { orgCommands } from './orgs.js';
import { emit, printRecord } from './output.js';
import { peopleCommands } from './people.js';
import { productCommands } from './products.js';
import { releaseCommands } from './releases.js';
import { reportCommands } from './reports.js';
import { rolloutCommands } from './rollouts.js';
import type { ServeFlags } from './serve.js';
import { simulateCommand } from './simulate.js';
import { ssoCommands } from './sso.js';
import { keyCommands, updateCommands } from './updates.js';
import { vulnerabilityCommands } from './vulns.js';
import { webhookCommands } from './webhooks.js';

export function buildProgram(): Command {
  const program = new Command('brickless')
    .version(VERSION)
    .description('brickless: the device backend that outlives its maker')
    .option('--data-dir <dir>', 'data directory (BRICKLESS_DATA_DIR; default ./data)')
    .option(
      '--database <url>',
      'SQLite file or postgres:// URL (BRICKLESS_DATABASE_URL; default <data-dir>/brickless.db)',
    )
    .option('--config <file>', 'JSON config file (BRICKLESS_CONFIG)')
    .option('--server <url>', 'talk to a running server instead of the data dir (BRICKLESS_SERVER)')
    .option('--token <token>', 'API token for --server (BRICKLESS_TOKEN)')
    .option(
      '--ca <file>',
      'CA certificate to trust for --server (BRICKLESS_CA; default <data-dir>/tls/ca.crt)',
    )
    .option('--org <org>', 'organisation id or slug (BRICKLESS_ORG; default: the token’s or the only one)')
    .option('--json', 'machine-readable JSON output')
    .option('--wide', 'tables also show internal ids')
    .option('-q, --quiet', 'print only the id of what a command creates or shows: ID=$(brickless … --quiet)')
    .showHelpAfterError('(add --help for usage)')
    // An unknown command is an error naming it and the closest command, never a silent `serve`.
    .showSuggestionAfterError(true);

  program
    .command('serve')
    .description(
      'run the server: HTTP API, the web console at the same address (https://localhost:8443/ by default; sign in there, the first time with the setup link it prints), device gateway, embedded database',
    )
    .option('--http-port <port>', 'HTTP(S) port (BRICKLESS_HTTP_PORT; default 8443)')
    .option('--http-host <host>', 'address to listen on (BRICKLESS_HTTP_HOST; default 0.0.0.0)')
    .option('--mqtt-port <port>', 'MQTT/TLS port of the device gateway (BRICKLESS_MQTT_PORT; default 8883)')
    .option(
      '--mqtt-plain-port <port>',
      'also plain MQTT without TLS, for a closed LAN (BRICKLESS_MQTT_PLAIN_PORT; off by default)',
    )
    .option('--no-tls', 'plain HTTP, for use behind a TLS-terminating proxy (BRICKLESS_HTTP_TLS=false)')
    .option(
      '--bus <url>',
      'the NATS server the nodes of a cluster share, nats://host:4222 (BRICKLESS_BUS_URL; default: in-process, one node)',
    )
    // Loaded on demand: the server's TLS and logging stack is not needed by one-shot commands.
    .action(async (flags: ServeFlags, command: Command) =>
      (await import('./serve.js')).serve(flags, command),
    );
  migrateCommand(program);
  artifactCommands(program);
  adminCommands(program);
  orgCommands(program);
  peopleCommands(program);
  brandCommands(program);
  productCommands(program);
  deviceCommands(program);
  auditCommands(program);
  keyCommands(program);
  updateCommands(program);
  releaseCommands(program);
  rolloutCommands(program);
  vulnerabilityCommands(program);
  escrowCommands(program);
  evidenceCommands(program);
  handoverCommands(program);
  continuityCommands(program);
  sunsetCommand(program);
  reportCommands(program);
  disclosureCommands(program);
  notificationCommands(program);
  ssoCommands(program);
  webhookCommands(program);
  appCommands(program);
  simulateCommand(program);

  program
    .command('whoami')
    .description('show who the CLI acts as')
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const me = await ctx.client.request<Record<string, unknown>>('GET', '/v1/whoami');
        emit(ctx, me, () => printRecord(me));
      }),
    );
  return program;
}
