import { type VerifyReport, verifyEscrow } from './successor.js';

export type { Check, Level } from './inspect.js';
export { LEVELS } from './inspect.js';
export type { VerifyReport } from './successor.js';

/**
 * Checks a deposit the way a successor will use it (escrow/successor.ts `verifyEscrow`, which
 * shares its checks with the restore): integrity, completeness, and with the agent's identity a
 * trial restore (restorability). `pinFile` and `depositKey` say which deposit key is trusted.
 */
export function verifyDeposit(
  bundle: string,
  options: {
    depositId?: string;
    identity?: string;
    pinFile?: string;
    depositKey?: string;
    onProgress?: (step: string, done: number, total: number) => void;
  },
): Promise<VerifyReport> {
  return verifyEscrow({
    bundle,
    ...(options.depositId ? { depositId: options.depositId } : {}),
    ...(options.identity ? { identity: options.identity } : {}),
    trust: {
      ...(options.pinFile ? { pinFile: options.pinFile } : {}),
      ...(options.depositKey ? { depositKey: options.depositKey } : {}),
    },
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
