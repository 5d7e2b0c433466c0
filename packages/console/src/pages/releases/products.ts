import type { Page } from '../../api/client.js';
import { orgPath } from '../../api/client.js';
import { useGet } from '../../components/use-api.js';
import type { ProductName } from './types.js';

export interface ProductNames {
  byId: Map<string, ProductName>;
  /** False while the names are still loading: a list waits for them rather than flash ids. */
  settled: boolean;
}

/** The organisation's products by id, to name a release's product (one page of up to 500). */
export function useProductNames(org: string): ProductNames {
  const products = useGet<Page<ProductName>>(orgPath(org, 'products'), { limit: 500 });
  return {
    byId: new Map((products.data?.items ?? []).map((p) => [p.id, p])),
    // An error settles too: the list then names products by id, which is still right.
    settled: products.data !== null || products.error !== null,
  };
}

export function productLabel(products: ProductNames, id: string): string {
  const product = products.byId.get(id);
  return product ? `${product.name} (${product.modelNumber})` : id;
}
