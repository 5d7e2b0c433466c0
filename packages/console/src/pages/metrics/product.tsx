import { MetricsView } from './view.js';

/** /products/:id/metrics */
export default function ProductMetrics(props: { id?: string; params?: { id?: string } }) {
  return <MetricsView kind="products" id={props.params?.id ?? props.id ?? ''} />;
}
