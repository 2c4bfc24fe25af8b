import { useCallback, useEffect, useMemo, useState, type MouseEvent, type ReactNode } from 'react';
import { ApiClient, ApiError, type SignedInUser } from './api-client.js';
import { displayText } from './format.js';
import { AlertsPage } from './pages/alerts-page.js';
import { useOpenAlertCount } from './pages/alerts-nav-count.js';
import { DashboardPage } from './pages/dashboard-page.js';
import { ExplorePage } from './pages/explore-page.js';
import { LoginPage } from './pages/login-page.js';
import { PageErrorBoundary } from './pages/page-error-boundary.js';
import { RulesPage } from './pages/rules-page.js';
import { SettingsPage } from './pages/settings-page.js';
import { SourcesPage } from './pages/sources-page.js';
import { TimelinePage } from './pages/timeline-page.js';
import { navigate, parseAlertPath, parseTimelinePath, useLocation } from './router.js';

type Session =
  | { readonly state: 'checking' }
  | { readonly state: 'signed-out'; readonly notice: string | null }
  | { readonly state: 'signed-in'; readonly user: SignedInUser }
  | { readonly state: 'unreachable'; readonly message: string };

const PAGES = [
  { path: '/explore', label: 'Explore' },
  { path: '/dashboard', label: 'Dashboard' },
  { path: '/alerts', label: 'Alerts' },
  { path: '/rules', label: 'Rules' },
  { path: '/sources', label: 'Data sources' },
  { path: '/settings', label: 'Settings' },
] as const;

/** The whole UI: checks the session, shows the sign-in page or the signed-in pages with their navigation. */
export function App(): ReactNode {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const api = useMemo(() => new ApiClient((notice) => setSession({ state: 'signed-out', notice })), []);
  const location = useLocation();
  const timeline = parseTimelinePath(location.pathname);

  const check = useCallback(() => {
    api.currentUser().then(
      (user) => setSession(user === null ? { state: 'signed-out', notice: null } : { state: 'signed-in', user }),
      (error: unknown) =>
        setSession({
          state: 'unreachable',
          message: error instanceof ApiError ? error.message : 'zerotrail cannot be reached.',
        }),
    );
  }, [api]);
  useEffect(check, [check]);

  useEffect(() => {
    // A notification's link to one alert opens it where the Alerts page shows it, before and after signing in.
    const alertId = parseAlertPath(location.pathname);
    if (alertId !== null) {
      navigate(`/alerts?${new URLSearchParams({ alert: alertId }).toString()}`, { replace: true });
      return;
    }
    // The root and any unknown path land on Explore; the path stays meaningful in a shared link.
    if (PAGES.some((page) => page.path === location.pathname) || parseTimelinePath(location.pathname) !== null) return;
    navigate('/explore', { replace: true });
  }, [location.pathname]);
  const openAlerts = useOpenAlertCount(api, session.state === 'signed-in', location.pathname, location.search);

  if (session.state === 'checking') return <div className="splash">Loading…</div>;
  if (session.state === 'unreachable') {
    return (
      <div className="splash">
        <p role="alert">{session.message}</p>
        <button type="button" onClick={check}>
          Try again
        </button>
      </div>
    );
  }
  if (session.state === 'signed-out') {
    return (
      <LoginPage api={api} notice={session.notice} onSignedIn={(user) => setSession({ state: 'signed-in', user })} />
    );
  }

  const signOut = (): void => {
    api.logout().then(
      () => setSession({ state: 'signed-out', notice: 'You have signed out.' }),
      () =>
        setSession({ state: 'signed-out', notice: 'You have signed out on this page; the server could not be told.' }),
    );
  };

  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">zerotrail</span>
        <nav aria-label="Pages">
          {PAGES.filter((page) => page.path !== '/settings' || session.user.role === 'admin').map((page) => (
            <a
              key={page.path}
              href={page.path}
              className={location.pathname === page.path ? 'active' : undefined}
              aria-current={location.pathname === page.path ? 'page' : undefined}
              onClick={(event: MouseEvent<HTMLAnchorElement>) => {
                if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
                event.preventDefault();
                navigate(page.path);
              }}
            >
              {page.label}
              {page.path === '/alerts' && openAlerts !== null && openAlerts > 0 ? (
                <span className="nav-count" title={`${openAlerts} open alerts`}>
                  {openAlerts}
                </span>
              ) : null}
            </a>
          ))}
        </nav>
        <span className="who" title={displayText(session.user.name)}>
          <span className="who-name">{displayText(session.user.name)}</span>{' '}
          <span className="role">{session.user.role}</span>
        </span>
        <button type="button" className="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        <PageErrorBoundary url={`${location.pathname}${location.search}`}>
          {timeline !== null ? (
            <TimelinePage api={api} kind={timeline.kind} value={timeline.value} />
          ) : location.pathname === '/dashboard' ? (
            <DashboardPage api={api} search={location.search} />
          ) : location.pathname === '/alerts' ? (
            <AlertsPage api={api} user={session.user} search={location.search} />
          ) : location.pathname === '/rules' ? (
            <RulesPage api={api} user={session.user} />
          ) : location.pathname === '/sources' ? (
            <SourcesPage api={api} user={session.user} />
          ) : location.pathname === '/settings' ? (
            <SettingsPage user={session.user} api={api} />
          ) : (
            <ExplorePage api={api} search={location.search} />
          )}
        </PageErrorBoundary>
      </main>
    </div>
  );
}
