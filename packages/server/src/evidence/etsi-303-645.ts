/**
 * ETSI EN 303 645 V2.1.1 (2020-06), "Cyber Security for Consumer Internet of Things: Baseline
 * Requirements", as data: every provision of clause 5 and clause 6 once, with who carries it
 * for a product served by brickless, the file of the evidence pack that evidences it (or null),
 * and what the maker must still provide. `brickless` means the backend carries it alone,
 * `shared` that brickless carries the backend's part and the device's part is the maker's,
 * `maker` that it lies wholly in the device, its documentation or the maker's processes.
 * The test (etsi-303-645.test.ts) checks every id is well formed and listed once, and that
 * every evidence path is a file of a built pack.
 */
export type Carrier = 'brickless' | 'shared' | 'maker';

export interface Provision {
  id: string;
  title: string;
  carrier: Carrier;
  /** A file of the evidence pack, or null when brickless holds no evidence for it. */
  evidence: string | null;
  /** What the maker must still provide; empty when brickless carries it alone. */
  makerProvides: string;
}

const p = (
  id: string,
  title: string,
  carrier: Carrier,
  evidence: string | null,
  makerProvides: string,
): Provision => ({ id, title, carrier, evidence, makerProvides });

const DEVICE = 'the device’s own implementation and its test evidence';

export const etsiEn303645: Provision[] = [
  // 5.1 No universal default passwords
  p('5.1-1', 'Unique per-device or user-defined passwords', 'maker', null, DEVICE),
  p('5.1-2', 'Pre-installed unique passwords not guessable', 'maker', null, DEVICE),
  p('5.1-3', 'Best-practice authentication of users against the device', 'maker', null, DEVICE),
  p('5.1-4', 'Simple way to change authentication values', 'maker', null, DEVICE),
  p(
    '5.1-5',
    'Brute-force resistance of network authentication',
    'shared',
    null,
    'the device’s local interfaces; brickless limits device and API sign-in attempts (docs/protocol.md, "Limits")',
  ),
  // 5.2 Implement a means to manage reports of vulnerabilities
  p('5.2-1', 'Publish a vulnerability disclosure policy', 'shared', 'cvd.json', 'the policy text itself'),
  p(
    '5.2-2',
    'Act on disclosed vulnerabilities in a timely manner',
    'shared',
    'security-updates.json',
    'the fixes themselves',
  ),
  p(
    '5.2-3',
    'Continually monitor, identify and rectify vulnerabilities',
    'shared',
    'security-updates.json',
    'complete SBOMs for every release; triage decisions',
  ),
  // 5.3 Keep software updated
  p(
    '5.3-1',
    'All software components securely updateable',
    'shared',
    'update-mechanism.json',
    'components outside the update image (bootloader, radio firmware)',
  ),
  p(
    '5.3-2',
    'Update mechanism for secure installation',
    'shared',
    'update-mechanism.json',
    'the device’s installer (A/B slots, rollback)',
  ),
  p(
    '5.3-3',
    'Updates simple for the user to apply',
    'maker',
    'annex-ii.en.md',
    'the device’s user interface',
  ),
  p('5.3-4', 'Automatic updates', 'shared', 'update-mechanism.json', 'the device’s default setting'),
  p('5.3-5', 'Check for updates after initialisation and periodically', 'maker', null, DEVICE),
  p('5.3-6', 'Notify the user of available updates', 'maker', null, DEVICE),
  p('5.3-7', 'Best-practice cryptography for the update mechanism', 'brickless', 'update-mechanism.json', ''),
  p('5.3-8', 'Timely security updates', 'shared', 'security-updates.json', 'building the fixed releases'),
  p(
    '5.3-9',
    'Verify authenticity and integrity of updates',
    'shared',
    'update-mechanism.json',
    'the device’s verification (brickless device library or its own TUF client)',
  ),
  p(
    '5.3-10',
    'Updates over the network verified through a trust relationship',
    'shared',
    'update-mechanism.json',
    'the root of trust provisioned on the device',
  ),
  p('5.3-11', 'Inform the user that an update is required', 'maker', null, 'the user notification channel'),
  p('5.3-12', 'Notify when an update disrupts basic functioning', 'maker', null, DEVICE),
  p(
    '5.3-13',
    'Publish the defined support period',
    'shared',
    'product.json',
    'publishing it at the point of sale',
  ),
  p(
    '5.3-14',
    'Constrained devices without updates: rationale published',
    'maker',
    null,
    'the rationale, if the device cannot be updated',
  ),
  p(
    '5.3-15',
    'Constrained devices: replaceable hardware plan',
    'maker',
    null,
    'the replacement plan, if the device cannot be updated',
  ),
  p('5.3-16', 'Model designation clearly recognisable', 'shared', 'product.json', 'the label on the device'),
  // 5.4 Securely store sensitive security parameters
  p('5.4-1', 'Sensitive security parameters stored securely', 'maker', null, 'the device’s secure storage'),
  p(
    '5.4-2',
    'Hard-coded unique device identity tamper-resistant',
    'maker',
    null,
    'the device’s hardware identity',
  ),
  p('5.4-3', 'No hard-coded critical security parameters in software', 'maker', null, DEVICE),
  p(
    '5.4-4',
    'Unique critical parameters for update and communication security',
    'shared',
    'update-mechanism.json',
    'keeping the per-device credential brickless issues in secure storage',
  ),
  // 5.5 Communicate securely
  p(
    '5.5-1',
    'Best-practice cryptography to communicate securely',
    'shared',
    null,
    'the device’s TLS stack; brickless serves MQTT and HTTPS over TLS only',
  ),
  p(
    '5.5-2',
    'Reviewed or evaluated implementations',
    'shared',
    'sboms/',
    'the device’s network and crypto libraries',
  ),
  p(
    '5.5-3',
    'Cryptographic algorithms and primitives updateable',
    'shared',
    'update-mechanism.json',
    'the device’s crypto library shipped in updates',
  ),
  p('5.5-4', 'Device functionality via network only after authentication', 'maker', null, DEVICE),
  p(
    '5.5-5',
    'Security-relevant configuration changes only after authentication',
    'shared',
    'audit-excerpt.json',
    'the device’s local interfaces',
  ),
  p('5.5-6', 'Critical security parameters encrypted in transit', 'shared', null, DEVICE),
  p('5.5-7', 'Confidentiality of critical parameters over remote interfaces', 'shared', null, DEVICE),
  p(
    '5.5-8',
    'Secure management of critical security parameters',
    'shared',
    'update-mechanism.json',
    'the offline root and targets keys kept by the maker',
  ),
  // 5.6 Minimise exposed attack surfaces
  p('5.6-1', 'Unused network and logical interfaces disabled', 'maker', null, DEVICE),
  p('5.6-2', 'Minimal unauthenticated disclosure in the initialised state', 'maker', null, DEVICE),
  p('5.6-3', 'No unnecessary physical interfaces exposed', 'maker', null, DEVICE),
  p('5.6-4', 'Debug interfaces disabled in software', 'maker', null, DEVICE),
  p('5.6-5', 'Only software services needed are enabled', 'maker', null, DEVICE),
  p(
    '5.6-6',
    'Code minimised to what is necessary',
    'maker',
    'sboms/',
    'the review of what the image contains',
  ),
  p('5.6-7', 'Least privilege', 'maker', null, DEVICE),
  p('5.6-8', 'Hardware-level memory access control', 'maker', null, DEVICE),
  p('5.6-9', 'Secure development processes', 'maker', null, 'the development process and its records'),
  // 5.7 Ensure software integrity
  p('5.7-1', 'Verify software with secure boot', 'maker', null, 'the device’s secure boot'),
  p('5.7-2', 'Detect unauthorised software changes and alert', 'maker', null, DEVICE),
  // 5.8 Ensure that personal data is secure
  p('5.8-1', 'Personal data protected in transit with best-practice cryptography', 'shared', null, DEVICE),
  p('5.8-2', 'Confidentiality of sensitive personal data to associated services', 'shared', null, DEVICE),
  p('5.8-3', 'External sensing capabilities documented', 'maker', null, 'the user documentation'),
  // 5.9 Make systems resilient to outages
  p('5.9-1', 'Resilience to network and power outages', 'shared', null, DEVICE),
  p('5.9-2', 'Local function without network; clean recovery', 'maker', null, DEVICE),
  p(
    '5.9-3',
    'Orderly, stable connection to networks',
    'shared',
    null,
    'the device’s reconnect back-off; brickless limits connects per second',
  ),
  // 5.10 Examine system telemetry data
  p('5.10-1', 'Telemetry examined for security anomalies', 'shared', null, 'what the device reports'),
  // 5.11 Make it easy for users to delete user data
  p('5.11-1', 'Simple erasure of user data on the device', 'maker', null, DEVICE),
  p(
    '5.11-2',
    'Means to remove personal data from associated services',
    'shared',
    null,
    'the consumer-facing request path',
  ),
  p('5.11-3', 'Clear instructions on deleting personal data', 'maker', null, 'the user documentation'),
  p(
    '5.11-4',
    'Clear confirmation that personal data was deleted',
    'maker',
    null,
    'the user-facing confirmation',
  ),
  // 5.12 Make installation and maintenance of devices easy
  p('5.12-1', 'Installation and maintenance in minimal steps', 'maker', null, DEVICE),
  p('5.12-2', 'Guidance on secure setup', 'maker', 'annex-ii.en.md', 'the setup guide'),
  p('5.12-3', 'Guidance on checking the setup is secure', 'maker', null, 'the setup guide'),
  // 5.13 Validate input data
  p(
    '5.13-1A',
    'Validate input from user interfaces, APIs and networks',
    'shared',
    null,
    'the device’s own input validation; brickless validates every API and device message',
  ),
  // 6 Data protection provisions for consumer IoT
  p('6-1', 'Clear information on personal data processed', 'maker', null, 'the privacy notice'),
  p('6-2', 'Valid consent where consent is the basis', 'maker', null, 'the consent flow'),
  p('6-3', 'Consent can be withdrawn', 'maker', null, 'the consent flow'),
  p(
    '6-4',
    'Telemetry: personal data kept to the minimum',
    'shared',
    null,
    'the choice of what devices report',
  ),
  p('6-5', 'Telemetry: information on what is collected and why', 'maker', null, 'the privacy notice'),
];

/**
 * CRA (Regulation (EU) 2024/2847) Annex I essential requirements, in the same shape: part 1
 * (properties of the product) and part 2 (vulnerability handling), as far as a backend can
 * evidence them.
 */
export const craAnnexI: Provision[] = [
  p('I.1.1', 'Appropriate level of cybersecurity based on the risks', 'maker', null, 'the risk assessment'),
  p(
    'I.1.2a',
    'No known exploitable vulnerabilities when placed on the market',
    'shared',
    'security-updates.json',
    'fixing what the matching finds',
  ),
  p('I.1.2b', 'Secure by default configuration', 'maker', null, DEVICE),
  p(
    'I.1.2c',
    'Vulnerabilities addressable through security updates, automatic by default',
    'shared',
    'update-mechanism.json',
    'the device’s update default',
  ),
  p(
    'I.1.2d',
    'Protection from unauthorised access',
    'shared',
    'audit-excerpt.json',
    'the device’s local access control',
  ),
  p(
    'I.1.2e',
    'Confidentiality of stored and transmitted data',
    'shared',
    null,
    'the device’s storage encryption',
  ),
  p(
    'I.1.2f',
    'Integrity of data, commands, programs and configuration',
    'shared',
    'update-mechanism.json',
    'secure boot',
  ),
  p('I.1.2g', 'Data minimisation', 'maker', null, 'the choice of data processed'),
  p('I.1.2h', 'Availability of essential functions, resilience', 'shared', null, DEVICE),
  p('I.1.2i', 'Minimise negative impact on other devices and networks', 'maker', null, DEVICE),
  p('I.1.2j', 'Limit attack surfaces', 'maker', 'sboms/', DEVICE),
  p('I.1.2k', 'Reduce the impact of an incident (exploitation mitigation)', 'maker', null, DEVICE),
  p(
    'I.1.2l',
    'Security information by recording and monitoring internal activity',
    'shared',
    'audit-excerpt.json',
    'device-side logging',
  ),
  p('I.1.2m', 'Users can remove all data and settings securely', 'maker', null, DEVICE),
  p(
    'I.2.1',
    'Identify and document components and vulnerabilities (SBOM)',
    'shared',
    'sboms/',
    'complete SBOMs for every release',
  ),
  p(
    'I.2.2',
    'Address and remediate vulnerabilities without delay, with security updates',
    'shared',
    'security-updates.json',
    'building the fixes',
  ),
  p('I.2.3', 'Regular tests and reviews of security', 'maker', null, 'test and review records'),
  p('I.2.4', 'Publicly disclose fixed vulnerabilities', 'shared', 'cvd.json', 'publishing the advisories'),
  p('I.2.5', 'Coordinated vulnerability disclosure policy', 'shared', 'cvd.json', 'the policy text'),
  p(
    'I.2.6',
    'Facilitate sharing information, provide a contact address',
    'shared',
    'cvd.json',
    'the contact address',
  ),
  p('I.2.7', 'Secure distribution of updates', 'brickless', 'update-mechanism.json', ''),
  p(
    'I.2.8',
    'Security updates disseminated without delay and free of charge, with advisory',
    'shared',
    'security-updates.json',
    'the advisory text for users',
  ),
];
