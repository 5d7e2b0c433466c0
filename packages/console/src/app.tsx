import { useCallback, useEffect, useState } from 'preact/hooks';
import { ErrorBoundary, LocationProvider, useLocation } from 'preact-iso';
import { ErrorMessage } from './components/alert.js';
import { Layout } from './components/layout.js';
import { Loading } from './components/page.js';
import SignIn from './pages/sign-in.js';
import { AppRoutes } from './routes.js';
import { loadSession, SessionProvider, type SessionState } from './session.js';

function Shell() {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const location = useLocation();
  const change = useCallback((next: SessionState) => setState(next), []);
  const load = useCallback(async () => setState(await loadSession()), []);

  useEffect(() => {
    void load();
  }, [load]);

  if (state.status === 'loading') return <Loading />;
  if (state.status === 'error') {
    return (
      <main id="main" class="sign-in">
        <ErrorMessage error={state.error} retry={() => void load()} />
      </main>
    );
  }
  if (state.status === 'signed-out') {
    return (
      <SignIn
        onSignedIn={() => {
          void load().then(() => {
            if (location.path === '/sign-in') location.route('/');
          });
        }}
      />
    );
  }
  return (
    <SessionProvider state={state} onChange={change}>
      <Layout>
        <ErrorBoundary>
          <AppRoutes />
        </ErrorBoundary>
      </Layout>
    </SessionProvider>
  );
}

export function App() {
  return (
    <LocationProvider>
      <Shell />
    </LocationProvider>
  );
}
