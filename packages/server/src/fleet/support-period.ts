/** A warning attached to a response: the request succeeded, but a person should look. */
export interface Warning {
  code: string;
  message: string;
}

const FIVE_YEARS_IN_MONTHS = 60;

function monthsBetween(from: Date, to: Date): number {
  return (
    (to.getUTCFullYear() - from.getUTCFullYear()) * 12 +
    (to.getUTCMonth() - from.getUTCMonth()) -
    (to.getUTCDate() < from.getUTCDate() ? 1 : 0)
  );
}

/**
 * CRA Art. 13(8): the support period shall be at least five years, unless the product is expected
 * to be in use for less. brickless accepts a shorter period (that exception exists) but says so.
 */
export function supportPeriodWarnings(
  input: { placedOnMarket: string | null; supportEnds: string },
  now: Date,
): Warning[] {
  const warnings: Warning[] = [];
  const start = input.placedOnMarket ? new Date(input.placedOnMarket) : now;
  const end = new Date(input.supportEnds);
  const months = monthsBetween(start, end);
  if (months < FIVE_YEARS_IN_MONTHS) {
    warnings.push({
      code: 'support-period-short',
      message: `support period is ${Math.max(months, 0)} months from ${input.placedOnMarket ? 'placing on the market' : 'today'}; CRA Art. 13(8) asks for at least five years unless the product is expected to be used for less`,
    });
  }
  if (end.getTime() < now.getTime()) {
    warnings.push({ code: 'support-period-ended', message: `support period ended on ${input.supportEnds}` });
  }
  return warnings;
}
