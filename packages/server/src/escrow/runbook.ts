import type { DepositManifest } from './manifest.js';

/** RESTORE.md: the successor's runbook, written for this very deposit. */
export function restoreRunbook(m: DepositManifest): string {
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

    brickless escrow verify ESCROW_DIR --deposit ${m.id} --identity agent.key

It must report level \`restorability\` and exit 0. It checks every hash, that every table and
artifact is there, that this brickless knows the schema, that the secrets open, and it restores
the whole deposit into a scratch database and verifies the audit chains there.

## 2. Restore

    brickless --data-dir successor escrow restore ESCROW_DIR --deposit ${m.id} --identity agent.key \\
      [--database postgres://user@host/db]

The target database must be empty. The data goes in inside one transaction, then the schema is
brought up to date. The master key (which opens the online TUF keys and device CA keys kept in
the database) is written to the data dir; the old server's TLS keys are written only with
\`--keep-tls\` (use it when you take over the old host names). Artifacts go to the data dir.

## 3. Start, and take the devices over

    brickless --data-dir successor serve

Then move the devices (docs/continuity.md, "Handover"): with the escrow key, which the signed TUF
root names as a root key, sign an endpoint record naming your server and its TLS CA:

    brickless --data-dir successor handover create --org ORG --mqtt-url mqtts://new-host:8883 \\
      --http-url https://new-host:8443 --ca successor/tls/ca.crt --key escrow-root.json
    brickless --server OLD … handover publish RECORD   # devices still connected to the old server
    brickless --data-dir successor handover publish RECORD

Devices verify the record against the TUF root they hold and reconnect to you;
\`brickless handover status\` shows how many have moved. Rotate the TUF root and the targets key
(docs/updates.md) before you sign your first release.

## Contents

| table | rows | chunks |
|---|---:|---:|
${tables}
`;
}
