import { MetricsView } from './view.js';

/** /brands/:id/metrics */
export default function BrandMetrics(props: { id?: string; params?: { id?: string } }) {
  return <MetricsView kind="brands" id={props.params?.id ?? props.id ?? ''} />;
}
