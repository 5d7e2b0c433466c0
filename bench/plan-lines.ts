/**
 * The key lines of an EXPLAIN (ANALYZE, BUFFERS) plan for docs/benchmarks.md: the scans (which
 * partition, which index, rows), the appends, the total buffers and the times. Estimated costs
 * are cut, and a run of alike scans over consecutive partitions is shown by its first and last.
 */
export function keyLines(plan: string[]): string[] {
  const kept: string[] = [];
  let buffers = false;
  for (const raw of plan) {
    const line = raw.replace(/ {2}\(cost=[^)]*\)/, '');
    if (/Buffers: shared/.test(line)) {
      if (!buffers) kept.push(line);
      buffers = true;
      continue;
    }
    if (/Scan|Append|Delete on telemetry |Planning Time|Execution Time|Subplans Removed/.test(line))
      kept.push(line);
  }
  // Collapse runs of scans alike but for the partition (telemetry_pYYYYMMDD).
  const shape = (l: string) =>
    /Scan/.test(l)
      ? l
          .replace(/telemetry_p\d{8}/g, 'P')
          .replace(/telemetry_\d+/, 'T')
          .replace(/\(actual[^)]*\)/, '')
      : null;
  const out: string[] = [];
  for (let i = 0; i < kept.length; ) {
    const s = shape(kept[i] as string);
    let j = i + 1;
    while (s !== null && j < kept.length && shape(kept[j] as string) === s) j++;
    const run = j - i;
    if (run > 3) {
      const indent = /^\s*/.exec(kept[i] as string)?.[0] ?? '';
      out.push(
        kept[i] as string,
        `${indent}  ... ${run - 2} more partitions alike ...`,
        kept[j - 1] as string,
      );
    } else out.push(...kept.slice(i, j));
    i = j;
  }
  return out;
}
