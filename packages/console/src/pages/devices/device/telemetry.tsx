import { useMemo, useState } from 'preact/hooks';
import { orgPath } from '../../../api/client.js';
import { ErrorMessage } from '../../../components/alert.js';
import { Field, inputValue } from '../../../components/form.js';
import { Empty, Loading } from '../../../components/page.js';
import { Table } from '../../../components/table.js';
import { TimeChart } from '../../../components/time-chart.js';
import { useGet } from '../../../components/use-api.js';
import { formatDateTime, formatNumber } from '../../../i18n/index.js';
import { t } from './messages.js';
import type { PartProps, Series, TelemetryPoint } from './types.js';

/** The time ranges offered, each with a bucket that gives a readable number of points (60–170). */
const RANGES = [
  { id: 'hour', ms: 3_600_000, bucket: '1m' },
  { id: 'day', ms: 86_400_000, bucket: '15m' },
  { id: 'week', ms: 7 * 86_400_000, bucket: '1h' },
  { id: 'month', ms: 30 * 86_400_000, bucket: '6h' },
] as const;
type RangeId = (typeof RANGES)[number]['id'];

/** Telemetry over a chosen range, aggregated per bucket on the server, as a chart and a table. */
export function TelemetryPart(props: PartProps) {
  const declared = props.product?.capabilities?.telemetry ?? {};
  const fields = Object.keys(declared).filter((name) => declared[name]?.schema.type !== 'string');
  const [field, setField] = useState(fields[0] ?? '');
  const [range, setRange] = useState<RangeId>('hour');
  const [tick, setTick] = useState(0);
  const spec = RANGES.find((r) => r.id === range) ?? RANGES[0];
  // The window ends now; a refresh (tick) moves it along.
  const span = useMemo(() => {
    const to = new Date();
    return { from: new Date(to.getTime() - spec.ms).toISOString(), to: to.toISOString() };
  }, [spec, tick]);
  const series = useGet<Series>(field ? orgPath(props.org, 'devices', props.device.id, 'telemetry') : null, {
    field,
    from: span.from,
    to: span.to,
    bucket: spec.bucket,
    limit: 1000,
  });
  const unit = declared[field]?.unit;

  return (
    <div>
      <h2>{t.telemetry}</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        {fields.length > 0 ? (
          <Field id="telemetry-field" label={t.field}>
            <select id="telemetry-field" value={field} onChange={(e) => setField(inputValue(e))}>
              {fields.map((name) => (
                <option key={name} value={name}>
                  {declared[name]?.unit ? `${name} (${declared[name]?.unit})` : name}
                </option>
              ))}
            </select>
          </Field>
        ) : (
          <Field id="telemetry-field" label={t.field} hint={t.fieldHint}>
            <input
              id="telemetry-field"
              maxLength={64}
              aria-describedby="telemetry-field-hint"
              value={field}
              onChange={(e) => setField(inputValue(e).trim())}
            />
          </Field>
        )}
        <Field id="telemetry-range" label={t.range}>
          <select id="telemetry-range" value={range} onChange={(e) => setRange(inputValue(e) as RangeId)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {t.rangeName(r.id)}
              </option>
            ))}
          </select>
        </Field>
        <button type="button" class="button-secondary" onClick={() => setTick((n) => n + 1)}>
          {t.refresh}
        </button>
      </form>
      {!field ? <p>{t.pickField}</p> : null}
      <ErrorMessage error={series.error} retry={series.reload} />
      {series.loading && !series.data ? <Loading /> : null}
      {field && series.data ? (
        <SeriesView series={series.data} field={field} unit={unit} range={range} span={span} />
      ) : null}
    </div>
  );
}

function numeric(point: TelemetryPoint): number | null {
  if (typeof point.avg === 'number') return point.avg;
  if (typeof point.value === 'number') return point.value;
  if (typeof point.value === 'boolean') return point.value ? 1 : 0;
  return null;
}

function SeriesView(props: {
  series: Series;
  field: string;
  unit: string | undefined;
  range: RangeId;
  span: { from: string; to: string };
}) {
  const points = props.series.points;
  const data = useMemo(
    () => ({
      times: points.map((p) => new Date(p.time).getTime() / 1000),
      values: points.map(numeric),
    }),
    [points],
  );
  if (points.length === 0) {
    return (
      <Empty title={t.noReadings(t.rangeName(props.range))}>
        <p>{t.noReadingsNext}</p>
      </Empty>
    );
  }
  const known = data.values.filter((v): v is number => v !== null);
  const show = (value: number | null | undefined) =>
    value === null || value === undefined
      ? '–'
      : `${formatNumber(value)}${props.unit ? ` ${props.unit}` : ''}`;
  const summary = t.chartSummary(
    props.field,
    points.length,
    show(known.length ? Math.min(...known) : null),
    show(known.length ? Math.max(...known) : null),
    show(known.at(-1)),
  );
  return (
    <figure class="telemetry-figure">
      <TimeChart
        times={data.times}
        values={data.values}
        from={Date.parse(props.span.from) / 1000}
        to={Date.parse(props.span.to) / 1000}
        label={props.field}
        unit={props.unit}
      />
      <figcaption class="chart-summary">{summary}</figcaption>
      <details class="chart-table">
        <summary>{t.showTable}</summary>
        <Table
          caption={t.tableCaption(props.field)}
          rows={points}
          rowKey={(p) => p.time}
          columns={[
            { label: t.bucketStart, cell: (p) => formatDateTime(p.time) },
            { label: t.average, numeric: true, cell: (p) => show(numeric(p)) },
            { label: t.minimum, numeric: true, cell: (p) => show(p.min) },
            { label: t.maximum, numeric: true, cell: (p) => show(p.max) },
            {
              label: t.readings,
              numeric: true,
              cell: (p) => (p.count === undefined ? '–' : formatNumber(p.count)),
            },
          ]}
        />
      </details>
    </figure>
  );
}
