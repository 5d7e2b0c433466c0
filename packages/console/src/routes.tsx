import { lazy, Route, Router } from 'preact-iso';
import NotFound from './pages/not-found.js';

// Each page is its own chunk, loaded when first opened: the first load carries the shell only
// (issue 17: at most 200 KB of compressed JavaScript), and uPlot comes with the device and metrics pages.
const Products = lazy(() => import('./pages/products/index.js'));
const NewRelease = lazy(() => import('./pages/release-new/index.js'));
const Organisations = lazy(() => import('./pages/organisations/index.js'));
// Audit log, settings and the person's own account (issue 17).
const Audit = lazy(() => import('./pages/audit/index.js'));
const Settings = lazy(() => import('./pages/settings/index.js'));
const Account = lazy(() => import('./pages/account/index.js'));
// Brands, releases and rollouts (issue 17): signing stays offline, rollouts show live progress.
const Brands = lazy(() => import('./pages/brands/index.js'));
const Releases = lazy(() => import('./pages/releases/index.js'));
const Release = lazy(() => import('./pages/releases/release.js'));
const Rollouts = lazy(() => import('./pages/rollouts/index.js'));
const Rollout = lazy(() => import('./pages/rollouts/rollout.js'));
// Device page and provisioning (the /devices/provision route must come before /devices/:id).
const ProvisionDevices = lazy(() => import('./pages/devices/provision/index.js'));
const DevicePage = lazy(() => import('./pages/devices/device/index.js'));
// Security work (vulnerabilities, disclosures, CRA reports, advisories).
const Vulnerabilities = lazy(() => import('./pages/vulnerabilities/index.js'));
const Vulnerability = lazy(() => import('./pages/vulnerabilities/detail.js'));
const Disclosures = lazy(() => import('./pages/disclosures/index.js'));
const Disclosure = lazy(() => import('./pages/disclosures/detail.js'));
const Reports = lazy(() => import('./pages/reports/index.js'));
const Report = lazy(() => import('./pages/reports/detail.js'));
const Advisories = lazy(() => import('./pages/advisories/index.js'));
const Advisory = lazy(() => import('./pages/advisories/detail.js'));
const Overview = lazy(() => import('./pages/overview/index.js'));
const DeviceList = lazy(() => import('./pages/devices/list.js'));
const Continuity = lazy(() => import('./pages/continuity/index.js'));
const ApiDocs = lazy(() => import('./pages/docs/index.js'));
// A product's CRA evidence: the ETSI EN 303 645 / Annex I tables and the evidence pack (issue 21).
const ProductEvidence = lazy(() => import('./pages/evidence/index.js'));
// Patch and support metrics per product and brand (issue 21 §4); uPlot comes with them.
const ProductMetrics = lazy(() => import('./pages/metrics/product.js'));
const BrandMetrics = lazy(() => import('./pages/metrics/brand.js'));

/** The console's pages; their first segments are listed in sections.ts for the navigation and the server. */
export function AppRoutes() {
  return (
    <Router>
      <Route path="/products" component={Products} />
      <Route path="/products/:id/evidence" component={ProductEvidence} />
      <Route path="/releases/new" component={NewRelease} />
      <Route path="/organisations" component={Organisations} />
      <Route path="/audit" component={Audit} />
      <Route path="/settings" component={Settings} />
      <Route path="/settings/:tab" component={Settings} />
      <Route path="/account" component={Account} />
      <Route path="/brands" component={Brands} />
      <Route path="/releases" component={Releases} />
      <Route path="/releases/:id" component={Release} />
      <Route path="/rollouts" component={Rollouts} />
      <Route path="/rollouts/:id" component={Rollout} />
      <Route path="/devices/provision" component={ProvisionDevices} />
      <Route path="/devices/:id" component={DevicePage} />
      {/* Security work */}
      <Route path="/vulnerabilities" component={Vulnerabilities} />
      <Route path="/vulnerabilities/:id" component={Vulnerability} />
      <Route path="/disclosures" component={Disclosures} />
      <Route path="/disclosures/:id" component={Disclosure} />
      <Route path="/reports" component={Reports} />
      <Route path="/reports/:id" component={Report} />
      <Route path="/advisories" component={Advisories} />
      <Route path="/advisories/:id" component={Advisory} />
      <Route path="/" component={Overview} />
      <Route path="/devices" component={DeviceList} />
      <Route path="/continuity" component={Continuity} />
      <Route path="/docs" component={ApiDocs} />
      <Route path="/docs/:tag" component={ApiDocs} />
      <Route path="/products/:id/metrics" component={ProductMetrics} />
      <Route path="/brands/:id/metrics" component={BrandMetrics} />
      <Route default component={NotFound} />
    </Router>
  );
}
