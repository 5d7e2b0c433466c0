import type { DepositManifest } from './manifest.js';

/** RESTORE.md: the successor's runbook, written for this very deposit. */
export function restoreRunbook(m: DepositManifest, depositKey: string): string {
  const tables = Object.entries(m.tables)
    .map(([name, t]) => `| ${name} | ${t.rows.toLocaleString('en-US')} | ${t.chunks.length} |`)
    .join('\n');
  const orgs = m.organizations.map((o) => `- ${o.name} (\`${o.slug}\`, ${o.id})`).join('\n') || '- (none)';
  return `# Restoring brickless from escrow deposit ${m.id}

Deposited ${m.createdAt} by brickless ${m.brickless} from a ${m.source.dialect} database at
schema \`${m.schema.current}\`. It holds ${m.stats.rows.toLocaleString('en-US')} rows in
${Object.keys(m.tables).length} tables, ${m.artifacts.length} artifacts (firmware images and SBOMs), the
protocol documents (\`docs/\`), public trust material (\`trust/\`) and the secrets a running service
needs, sealed with age to: ${m.secrets.recipients.map((r) => `\`${r}\``).join(', ')}.

Organisations:
${orgs}

You need: Node.js 20 or later, brickless ${m.brickless} or later (\`npm i -g brickless\` or a
checkout of the source), the escrow agent's age identity file, and this escrow directory (the
deposit and its \`objects/\`). PostgreSQL is optional: SQLite works out of the box.

## 1. Check the bundle

    brickless escrow verify ESCROW_DIR --deposit ${m.id} --identity agent.key \\
      [--deposit-key KEY_FROM_THE_ESCROW_AGREEMENT]

It must report level \`restorability\` and exit 0. The manifest is signed with the service's
deposit key \`${depositKey}\`: compare it with the key in the
escrow agreement (\`--deposit-key\`), or with the key the agent pinned at its first verify
(\`agent.key.deposit-pin.json\` next to the identity; \`--pin\` elsewhere). A deposit signed by
another key, out of the chain of deposits, older than one the agent already verified, or with
audit heads behind the deposit before it is refused. Verify checks every hash, that every table
and artifact is there, that this brickless knows the schema, that every value fits both SQLite and
PostgreSQL, that the secrets open, and it restores the whole deposit into a scratch database with
the very code the restore uses and verifies the audit chains there against the deposit's signed
checkpoints (${m.audit.checkpoints.length} chains).

## 2. Restore

    brickless --data-dir successor escrow restore ESCROW_DIR --deposit ${m.id} --identity agent.key \\
      [--database postgres://user@host/db]

The target database must be empty. The restore runs the same checks as verify first and refuses
(changing nothing) when one fails. It then restores into a temporary place (a file beside the
SQLite target, a temporary schema in the PostgreSQL target), checks the row counts, the audit
chains, the sealed keys and the trust roots there, and only then moves everything into place: a
restore that fails leaves the target exactly as it was. The master key (which opens the online TUF keys and device CA keys kept in
the database) is written to the data dir; the old server's TLS keys are written only with
\`--keep-tls\` (use it when you take over the old host names). Artifacts go to the data dir.

## 3. Start, and take the devices over

    brickless --data-dir successor serve

Then move the devices (docs/continuity.md, "Handover"): with the escrow key, which the signed TUF
root names as a root key, sign an endpoint record naming your server and its TLS CA:

    brickless --data-dir successor handover create --org ORG --mqtt-url mqtts://new-host:8883 \\
      --http-url https://new-host:8443 --successor-ca successor/tls/ca.crt --key escrow-root.json --out RECORD
    brickless --server OLD … handover publish RECORD   # devices still connected to the old server
    brickless --data-dir successor handover publish RECORD

Devices verify the record against the TUF root they hold and reconnect to you;
\`brickless handover status\` shows how many have moved. Rotate the TUF root and the targets key
(docs/updates.md) before you sign your first release.

Keep the audit checkpoints: \`brickless audit verify --checkpoints ESCROW_DIR --key KEY\` checks
the restored log against the checkpoints every deposit signed.

## Contents

| table | rows | chunks |
|---|---:|---:|
${tables}
`;
}
