import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import { documentsOf, type FeedDocument } from '../vulnerabilities/feeds/unpack.js';
import type { ImportReport } from '../vulnerabilities/service.js';
import { RawJson } from './client.js';
import { collect, enc, query, resolveOrg, withClient } from './context.js';
import { emit, printRecord, printTable } from './output.js';
import { resolveEach, resolveOptional, resolveRef } from './resolve.js';

/** Documents per request stay well under the import route's body limit. */
const BATCH_BYTES = 16 * 1024 * 1024;

function filesOf(path: string): string[] {
  const stat = statSync(path);
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { recursive: true })
    .map((f) => join(path, String(f)))
    .filter((f) => /\.(json|zip)$/i.test(f) && statSync(f).isFile())
    .sort();
}

const sum = (a: ImportReport, b: ImportReport): ImportReport => ({
  documents: a.documents + b.documents,
  records: {
    created: a.records.created + b.records.created,
    updated: a.records.updated + b.records.updated,
    unchanged: a.records.unchanged + b.records.unchanged,
  },
  knownExploited: b.knownExploited ?? a.knownExploited,
  matches: { added: a.matches.added + b.matches.added, removed: a.matches.removed + b.matches.removed },
  reportCasesOpened: a.reportCasesOpened + b.reportCasesOpened,
  problems: [...a.problems, ...b.problems],
  skipped: a.skipped + b.skipped,
});

function printImport(report: ImportReport): void {
  printRecord({
    documents: report.documents,
    'records created': report.records.created,
    'records updated': report.records.updated,
    'records unchanged': report.records.unchanged,
    'KEV entries': report.knownExploited
      ? `${report.knownExploited.total} (${report.knownExploited.added} new)`
      : '',
    'matches added': report.matches.added,
    'matches removed': report.matches.removed,
    'report cases opened': report.reportCasesOpened,
    'affected entries skipped': report.skipped,
  });
  for (const p of report.problems.slice(0, 20))
    process.stderr.write(`problem: ${p.document}: ${p.message}\n`);
  if (report.problems.length > 20)
    process.stderr.write(`… and ${report.problems.length - 20} more problems (--json lists all)\n`);
}

export function vulnerabilityCommands(program: Command): void {
  const vulns = program
    .command('vulns')
    .description('vulnerability data, matching, exposure, triage and remediation');

  vulns
    .command('import <paths...>')
    .description(
      'import OSV (files, directories, zips), NVD CVE 2.0 JSON, the CISA KEV catalog and CSAF 2.0 advisories (air-gapped sites)',
    )
    .action(async (paths: string[], _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const files = paths.flatMap(filesOf);
        if (files.length === 0) throw new DomainError('validation-failed', 'no .json or .zip files found');
        const bar =
          !ctx.json && process.stderr.isTTY
            ? new SingleBar({
                format: 'import [{bar}] {value}/{total} files · {docs} documents',
                stream: process.stderr,
              })
            : null;
        bar?.start(files.length, 0, { docs: 0 });
        let total: ImportReport = {
          documents: 0,
          records: { created: 0, updated: 0, unchanged: 0 },
          knownExploited: null,
          matches: { added: 0, removed: 0 },
          reportCasesOpened: 0,
          problems: [],
          skipped: 0,
        };
        let batch: FeedDocument[] = [];
        let batchBytes = 0;
        let sent = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          const report = await ctx.client.request<ImportReport>(
            'POST',
            '/v1/platform/vulnerabilities/import',
            { documents: batch },
          );
          total = sum(total, report);
          sent += batch.length;
          batch = [];
          batchBytes = 0;
        };
        for (const [i, file] of files.entries()) {
          const bytes = readFileSync(file);
          const read = await documentsOf(file, bytes);
          total.problems.push(...read.problems);
          for (const doc of read.documents) {
            const size = JSON.stringify(doc.content).length;
            if (batchBytes + size > BATCH_BYTES) await flush();
            batch.push(doc);
            batchBytes += size;
          }
          bar?.update(i + 1, { docs: sent + batch.length });
        }
        await flush();
        bar?.stop();
        emit(ctx, total, () => printImport(total));
        // Nothing usable at all (every file broken or of another format) is a failure for scripts.
        const usable =
          total.records.created +
          total.records.updated +
          total.records.unchanged +
          (total.knownExploited ? 1 : 0);
        if (usable === 0) process.exitCode = 1;
      }),
    );

  vulns
    .command('sync')
    .description(
      'fetch and import the configured feeds (vulnerabilities.feeds / BRICKLESS_VULNERABILITY_FEEDS)',
    )
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const report = await ctx.client.request<
          ImportReport & { feeds: Array<{ url: string; ok: boolean; message: string }> }
        >('POST', '/v1/platform/vulnerabilities/sync', {});
        emit(ctx, report, () => {
          printTable(report.feeds, [
            ['feed', (f) => f.url],
            ['ok', (f) => (f.ok ? 'yes' : 'NO')],
            ['result', (f) => f.message],
          ]);
          printImport(report);
        });
        if (report.feeds.some((f) => !f.ok)) process.exitCode = 1;
      }),
    );

  vulns
    .command('rematch')
    .description('match every vulnerability record against every SBOM again (full rescan)')
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const result = await ctx.client.request<Record<string, unknown>>(
          'POST',
          '/v1/platform/vulnerabilities/rematch',
          {},
        );
        emit(ctx, result, () => printRecord(result));
      }),
    );

  vulns
    .command('show <id>')
    .description('a vulnerability by any of its ids (CVE, GHSA, …): records, aliases, severity, KEV')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const v = await ctx.client.request<
          Record<string, unknown> & {
            records: Array<{ id: string; source: string }>;
            knownExploited: { dateAdded: string } | null;
          }
        >('GET', `/v1/vulnerabilities/${enc(id)}`);
        emit(ctx, v, () =>
          printRecord({
            id: v.id,
            summary: v.summary,
            aliases: v.aliases,
            severity: v.severity,
            'known exploited': v.knownExploited ? `yes, KEV since ${v.knownExploited.dateAdded}` : 'no',
            records: v.records.map((r) => `${r.id} (${r.source})`),
          }),
        );
      }),
    );

  vulns
    .command('list')
    .description("the organisation's vulnerabilities with devices exposed, most urgent first")
    .option('--all', 'also those no device is exposed to (triaged or fixed)')
    .action(async (opts: { all?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<{
          items: Array<
            Record<string, unknown> & { severity: { rating: string | null; score: number | null } }
          >;
        }>('GET', `/v1/orgs/${enc(org)}/vulnerabilities${query({ status: opts.all ? 'all' : undefined })}`);
        emit(ctx, page, () =>
          printTable(page.items, [
            ['id', (v) => v.id],
            ['KEV', (v) => (v.knownExploited ? 'yes' : '')],
            ['severity', (v) => [v.severity.rating, v.severity.score].filter((x) => x !== null).join(' ')],
            ['releases', (v) => v.releasesExposed],
            ['devices', (v) => v.devicesExposed],
            ['summary', (v) => String(v.summary).slice(0, 60)],
          ]),
        );
      }),
    );

  vulns
    .command('exposure <id>')
    .description('which of our devices are exposed to <id>: products, releases, brands, device counts')
    .option('--devices', 'list every exposed device')
    .action(async (id: string, opts: { devices?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        type Exposure = {
          vulnerability: { id: string; summary: string };
          devicesExposed: number;
          products: Array<{
            name: string;
            releases: Array<{
              version: string;
              status: string;
              exposed: boolean;
              devices: number;
              components: Array<{ name: string; version: string | null }>;
              brands: Array<{ name: string | null; devices: number }>;
            }>;
          }>;
        };
        const e = await ctx.client.request<Exposure>(
          'GET',
          `/v1/orgs/${enc(org)}/vulnerabilities/${enc(id)}/exposure`,
        );
        const devices = opts.devices
          ? await ctx.client.request<{ items: unknown[] }>(
              'GET',
              `/v1/orgs/${enc(org)}/vulnerabilities/${enc(id)}/devices`,
            )
          : null;
        emit(ctx, devices ? { ...e, devices: devices.items } : e, () => {
          process.stdout.write(`${e.vulnerability.id}: ${e.devicesExposed} devices exposed\n`);
          printTable(
            e.products.flatMap((p) => p.releases.map((r) => ({ product: p.name, ...r }))),
            [
              ['product', (r) => r.product],
              ['release', (r) => r.version],
              ['status', (r) => r.status],
              ['exposed', (r) => (r.exposed ? 'yes' : 'no')],
              ['devices', (r) => r.devices],
              ['brands', (r) => r.brands.map((b) => `${b.name ?? '(none)'}: ${b.devices}`)],
              ['components', (r) => r.components.map((c) => `${c.name}@${c.version ?? '?'}`)],
            ],
          );
          if (devices)
            printTable(devices.items as Array<Record<string, string>>, [
              ['device', (d) => d.deviceId],
              ['release', (d) => d.releaseId],
            ]);
        });
      }),
    );

  vulns
    .command('device <device>')
    .description("a device's open vulnerabilities")
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const deviceId = await resolveRef(ctx, org, 'device', ref);
        const result = await ctx.client.request<{
          vulnerabilities: Array<{
            id: string;
            status: string;
            knownExploited: boolean;
            severity: { rating: string | null };
            components: Array<{ name: string; version: string | null }>;
          }>;
        }>('GET', `/v1/orgs/${enc(org)}/devices/${enc(deviceId)}/vulnerabilities`);
        emit(ctx, result, () =>
          printTable(result.vulnerabilities, [
            ['id', (v) => v.id],
            ['KEV', (v) => (v.knownExploited ? 'yes' : '')],
            ['severity', (v) => v.severity.rating],
            ['status', (v) => v.status],
            ['components', (v) => v.components.map((c) => `${c.name}@${c.version ?? '?'}`)],
          ]),
        );
      }),
    );

  vulns
    .command('triage <id>')
    .description('record a triage (VEX) decision for a product or one release')
    .requiredOption('--product <product>', 'the product')
    .option('--release <release>', 'only this release')
    .requiredOption('--status <status>', 'in_triage | affected | not_affected | fixed | false_positive')
    .option(
      '--justification <j>',
      'for not_affected: component_not_present | vulnerable_code_not_present | vulnerable_code_not_in_execute_path | vulnerable_code_cannot_be_controlled_by_adversary | inline_mitigations_already_exist',
    )
    .option('--impact <text>', 'impact statement')
    .option('--action <text>', 'action statement (what users should do)')
    .option('--fixed-in <release>', 'for fixed: the release that fixes it')
    .action(
      async (
        id: string,
        opts: {
          product: string;
          release?: string;
          status: string;
          justification?: string;
          impact?: string;
          action?: string;
          fixedIn?: string;
        },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const productId = await resolveRef(ctx, org, 'product', opts.product);
          const releaseId = await resolveOptional(ctx, org, 'release', opts.release, { productId });
          const fixedIn = await resolveOptional(ctx, org, 'release', opts.fixedIn, { productId });
          const decision = await ctx.client.request<Record<string, unknown>>(
            'POST',
            `/v1/orgs/${enc(org)}/vulnerabilities/${enc(id)}/decisions`,
            {
              productId,
              status: opts.status,
              ...(releaseId ? { releaseId } : {}),
              ...(opts.justification ? { justification: opts.justification } : {}),
              ...(opts.impact ? { impactStatement: opts.impact } : {}),
              ...(opts.action ? { actionStatement: opts.action } : {}),
              ...(fixedIn ? { fixedReleaseId: fixedIn } : {}),
            },
          );
          emit(ctx, decision, () => printRecord(decision));
        }),
    );

  vulns
    .command('exploited <id>')
    .description('mark <id> actively exploited: opens CRA Art. 14 report cases')
    .option('--product <product>', 'affected product; repeat (default: every exposed product)', collect)
    .option('--member-state <CC>', 'Member State where the product is available; repeat', collect)
    .option('--nature <text>', 'nature of the exploitation')
    .action(
      async (
        id: string,
        opts: { product?: string[]; memberState?: string[]; nature?: string },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const productIds = await resolveEach(ctx, org, 'product', opts.product);
          const result = await ctx.client.request<{ items: Array<Record<string, unknown>> }>(
            'POST',
            `/v1/orgs/${enc(org)}/vulnerabilities/${enc(id)}/exploited`,
            {
              ...(productIds ? { productIds } : {}),
              ...(opts.memberState ? { memberStates: opts.memberState } : {}),
              ...(opts.nature ? { natureOfExploitation: opts.nature } : {}),
            },
          );
          emit(ctx, result, () =>
            printTable(result.items, [
              ['case', (c) => c.id],
              ['product', (c) => c.productId],
              ['aware at', (c) => c.awareAt],
              ['next due', (c) => c.nextDueAt],
            ]),
          );
        }),
    );

  vulns
    .command('remediate <id>')
    .description('roll the fixing release out to exactly the exposed devices (one security rollout)')
    .option('--release <release>', 'the fixing release (default: the one a fixed triage decision names)')
    .option('--product <product>', 'when several products are exposed')
    .option('--waves <list>', 'cumulative percentages, e.g. 5,50,100')
    .action(
      async (id: string, opts: { release?: string; product?: string; waves?: string }, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const productId = await resolveOptional(ctx, org, 'product', opts.product);
          const releaseId = await resolveOptional(ctx, org, 'release', opts.release, { productId });
          const result = await ctx.client.request<{
            rollout: { id: string; name: string };
            devices: number;
            exposedVersions: string[];
          }>('POST', `/v1/orgs/${enc(org)}/vulnerabilities/${enc(id)}/remediate`, {
            ...(releaseId ? { releaseId } : {}),
            ...(productId ? { productId } : {}),
            ...(opts.waves ? { waves: opts.waves.split(',').map(Number) } : {}),
          });
          emit(ctx, result, () => {
            printRecord({
              rollout: result.rollout.id,
              name: result.rollout.name,
              devices: result.devices,
              'from versions': result.exposedVersions,
            });
            process.stderr.write(`follow it: brickless rollout watch ${result.rollout.id}\n`);
          });
        }),
    );

  vulns
    .command('coverage <id>')
    .description('patch coverage: share of the exposed devices already fixed')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const c = await ctx.client.request<{
          vulnerabilityId: string;
          exposedNow: number;
          fixed: number;
          coverage: number | null;
          series: Array<{ at: string; exposedEver: number; fixed: number; coverage: number }>;
        }>('GET', `/v1/orgs/${enc(org)}/vulnerabilities/${enc(id)}/coverage`);
        emit(ctx, c, () => {
          printRecord({
            vulnerability: c.vulnerabilityId,
            'exposed now': c.exposedNow,
            fixed: c.fixed,
            coverage: c.coverage === null ? '' : `${(c.coverage * 100).toFixed(1)} %`,
          });
          printTable(c.series.slice(-20), [
            ['at', (p) => p.at],
            ['exposed ever', (p) => p.exposedEver],
            ['fixed', (p) => p.fixed],
            ['coverage', (p) => `${(p.coverage * 100).toFixed(1)} %`],
          ]);
        });
      }),
    );

  program
    .command('vex')
    .description('export triage decisions as VEX')
    .option('--format <f>', 'openvex | cyclonedx | csaf', 'openvex')
    .option('--vulnerability <id>', 'only this vulnerability')
    .option('--product <product>', 'only this product')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(
      async (
        opts: { format: string; vulnerability?: string; product?: string; out?: string },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const doc = await ctx.client.request<unknown>(
            'GET',
            `/v1/orgs/${enc(org)}/vex${query({ format: opts.format, vulnerability: opts.vulnerability, productId: await resolveOptional(ctx, org, 'product', opts.product) })}`,
          );
          const text = `${JSON.stringify(doc, null, 2)}\n`;
          if (opts.out) writeFileSync(opts.out, text);
          else process.stdout.write(text);
        }),
    );

  const sbom = program.command('sbom').description("a release's SBOM: import, export, components");
  sbom
    .command('import <release> <file>')
    .description(
      'import a CycloneDX JSON 1.4–1.6 or SPDX 2.3 JSON SBOM for the release (replaces an earlier one)',
    )
    .action(async (ref: string, file: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const releaseId = await resolveRef(ctx, org, 'release', ref);
        const text = readFileSync(file, 'utf8');
        try {
          JSON.parse(text);
        } catch (error) {
          throw new DomainError('validation-failed', `${file} is not JSON: ${(error as Error).message}`);
        }
        // Sent as written: the server keeps these bytes, so the SBOM hash is the file's own.
        const result = await ctx.client.request<Record<string, unknown>>(
          'PUT',
          `/v1/orgs/${enc(org)}/releases/${enc(releaseId)}/sbom`,
          new RawJson(text),
        );
        emit(ctx, result, () =>
          printRecord(result, [
            'id',
            'releaseId',
            'format',
            'specVersion',
            'componentCount',
            'unidentified',
            'matches',
          ]),
        );
      }),
    );
  sbom
    .command('export <release>')
    .description('the stored SBOM as CycloneDX 1.6 JSON')
    .option('--out <file>', 'write to a file instead of standard output')
    .action(async (ref: string, opts: { out?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const releaseId = await resolveRef(ctx, org, 'release', ref);
        const doc = await ctx.client.request<unknown>(
          'GET',
          `/v1/orgs/${enc(org)}/releases/${enc(releaseId)}/sbom/cyclonedx`,
        );
        const text = `${JSON.stringify(doc, null, 2)}\n`;
        if (opts.out) writeFileSync(opts.out, text);
        else process.stdout.write(text);
      }),
    );
  sbom
    .command('components <release>')
    .description("the SBOM's components")
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const releaseId = await resolveRef(ctx, org, 'release', ref);
        const page = await ctx.client.request<{ items: Array<Record<string, unknown>> }>(
          'GET',
          `/v1/orgs/${enc(org)}/releases/${enc(releaseId)}/sbom/components`,
        );
        emit(ctx, page, () =>
          printTable(page.items, [
            ['name', (c) => c.name],
            ['version', (c) => c.version],
            ['purl', (c) => c.purl],
            ['cpe', (c) => c.cpe],
            ['supplier', (c) => c.supplier],
          ]),
        );
      }),
    );
}
