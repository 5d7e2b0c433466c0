import type { ExportContext, OwnerDataSource } from './sources.js';

/** README.txt of the export: what each file holds, and what the export leaves out and why. */
export function readme(ctx: ExportContext, sources: readonly OwnerDataSource[]): string {
  const lines = [
    'Your data',
    '=========',
    '',
    `Account ${ctx.ownerId}, exported ${ctx.at}.`,
    'A copy of the data this server keeps about you and the devices you own (GDPR Art. 15 and 20),',
    'in JSON (every file ending .json) and, for tables, also in CSV (RFC 4180, UTF-8, header line).',
    'Times are UTC (ISO 8601).',
    '',
    'Files',
    '-----',
    ...sources.map((s) => `- ${s.describe}`),
    '',
    'What is included',
    '----------------',
    '- Data of each device from the moment you claimed it. If the device had an owner before you',
    '  (bought second-hand), readings, events and commands of their time are not yours and are not',
    '  included. The twin (twin.json) is the current state, which may still hold values set before.',
    '- Devices shared with you (role user or guest) are listed in devices.json; their readings belong',
    "  to the device's owner and are in the owner's export.",
    '- The maker keeps records that are not about you: the device itself, its firmware version and',
    '  update history, and which vulnerabilities affect it.',
    '',
    `Devices in this export: ${ctx.devices.length} (${ctx.owned.length} owned).`,
    '',
  ];
  return `${lines.join('\n')}`;
}
