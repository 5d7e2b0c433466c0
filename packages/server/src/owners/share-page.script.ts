/**
 * The script of the share invitation page (served as /owner/shares/accept.js, owners/share-page.ts).
 * Plain ES, no build step, no eval, no innerHTML: every text reaches the page through
 * textContent (the page's CSP also enforces Trusted Types).
 *
 * The invitation's secret is read from the fragment and removed from the address bar at once
 * (history.replaceState); it goes to the server only in the body of a POST, never in a URL. It is
 * kept in this tab's memory only, never in storage: someone not signed in asks for a sign-in link
 * here, opens it (in another tab, as mail clients do), and comes back to this tab to accept. A
 * closed or reloaded tab forgets it; the invitation link from the mail works again then.
 */
export const SHARE_PAGE_SCRIPT = `
const TEXT = {
  en: {
    incomplete: 'This invitation link is incomplete. Copy the whole link from the e-mail, including the part after #, and open it again.',
    checking: 'Accepting the invitation…',
    error: 'Error: ',
    refused: 'The invitation could not be accepted: ',
    needEmail: 'Enter your e-mail address.',
    sending: 'Sending the sign-in link…',
    sent: 'We sent a sign-in link to {email}. Open it in this browser, then come back to this tab and press “Accept the invitation”.',
    notYet: 'You are not signed in yet. Open the sign-in link from the e-mail in this browser first, then press “Accept the invitation” again.',
    network: 'The server could not be reached. Try again.',
    signedInAs: 'Signed in as {email}.',
    roles: { user: 'user: you see and control it', guest: 'guest: you see it' },
    shared: 'You can now use {device} as {role}.',
    signedOut: 'You are signed out. Sign in with the address the invitation was sent to.',
  },
  de: {
    incomplete: 'Dieser Einladungslink ist unvollständig. Kopieren Sie den ganzen Link aus der E-Mail, auch den Teil nach #, und öffnen Sie ihn erneut.',
    checking: 'Die Einladung wird angenommen…',
    error: 'Fehler: ',
    refused: 'Die Einladung konnte nicht angenommen werden: ',
    needEmail: 'Geben Sie Ihre E-Mail-Adresse ein.',
    sending: 'Der Anmeldelink wird gesendet…',
    sent: 'Wir haben einen Anmeldelink an {email} gesendet. Öffnen Sie ihn in diesem Browser, kommen Sie dann zu diesem Tab zurück und drücken Sie „Einladung annehmen“.',
    notYet: 'Sie sind noch nicht angemeldet. Öffnen Sie zuerst den Anmeldelink aus der E-Mail in diesem Browser und drücken Sie dann erneut „Einladung annehmen“.',
    network: 'Der Server war nicht erreichbar. Versuchen Sie es erneut.',
    signedInAs: 'Angemeldet als {email}.',
    roles: { user: 'Nutzer: Sie sehen und steuern es', guest: 'Gast: Sie sehen es' },
    shared: 'Sie können jetzt {device} nutzen, als {role}.',
    signedOut: 'Sie sind abgemeldet. Melden Sie sich mit der Adresse an, an die die Einladung ging.',
  },
};
const lang = document.documentElement.lang === 'de' ? 'de' : 'en';
const t = TEXT[lang];
const byId = (id) => document.getElementById(id);
const fill = (text, values) => text.replace(/[{](email|device|role)[}]/g, (_, key) => values[key]);

// Take the secret out of the address bar before anything else can read or keep it.
function takeSecret() {
  const hash = location.hash.slice(1);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  try {
    return decodeURIComponent(hash);
  } catch {
    return hash;
  }
}
let secret = takeSecret();

const status = byId('status');
const alertBox = byId('alert');
let csrfToken = null;

function say(text) {
  status.textContent = text;
}
function fail(text) {
  say('');
  alertBox.textContent = t.error + text;
  alertBox.hidden = false;
}
function clearFailure() {
  alertBox.hidden = true;
  alertBox.textContent = '';
}
async function problemText(res) {
  try {
    const body = await res.json();
    if (body && typeof body.detail === 'string') return body.detail;
  } catch {}
  return res.status + ' ' + res.statusText;
}
/** fetch() of our own API, JSON both ways; null when the server could not be reached. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrfToken && method !== 'GET') headers['x-csrf-token'] = csrfToken;
  try {
    return await fetch(path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    fail(t.network);
    return null;
  }
}

function showSignIn() {
  csrfToken = null;
  byId('done').hidden = true;
  byId('signed-in-as').hidden = true;
  byId('sign-out').hidden = true;
  byId('sign-in').hidden = false;
}
function showSignedIn(owner) {
  csrfToken = owner.csrfToken;
  byId('sign-in').hidden = true;
  byId('signed-in-as').textContent = fill(t.signedInAs, { email: owner.email });
  byId('signed-in-as').hidden = false;
  byId('sign-out').hidden = false;
}

/** The signed-in owner (with the session's CSRF token), or null. */
async function me() {
  const res = await api('GET', '/v1/owner/me');
  return res && res.ok ? res.json() : null;
}

/** Accepts the invitation for whoever is signed in; anyone else is asked to sign in first. */
async function accept(fromButton) {
  clearFailure();
  if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    // Nothing to accept: signing in would not help, only the whole link does.
    fail(t.incomplete);
    return;
  }
  const owner = await me();
  if (!owner) {
    showSignIn();
    if (fromButton) fail(t.notYet);
    return;
  }
  showSignedIn(owner);
  say(t.checking);
  const res = await api('POST', '/v1/owner/shares/accept', { token: secret });
  if (!res) return;
  if (!res.ok) {
    fail(t.refused + (await problemText(res)));
    // Another account's invitation (403): signing out is the way on.
    if (res.status === 403) byId('sign-out').focus();
    return;
  }
  const device = await res.json();
  // Used: a second press or a reload has nothing left to send.
  secret = '';
  say('');
  byId('shared').textContent = fill(t.shared, {
    device: device.productName + ' (' + device.serial + ')',
    role: t.roles[device.role] || device.role,
  });
  byId('done').hidden = false;
  byId('done-heading').focus();
}

async function sendLink(event) {
  event.preventDefault();
  clearFailure();
  const email = byId('email');
  email.removeAttribute('aria-invalid');
  if (!email.value.trim()) {
    email.setAttribute('aria-invalid', 'true');
    fail(t.needEmail);
    email.focus();
    return;
  }
  const button = byId('send');
  button.disabled = true;
  say(t.sending);
  const res = await api('POST', '/v1/owner/sign-in', { email: email.value.trim() });
  button.disabled = false;
  if (!res) return;
  if (!res.ok) {
    fail(await problemText(res));
    return;
  }
  say(fill(t.sent, { email: email.value.trim() }));
}

async function signOut() {
  clearFailure();
  const res = await api('POST', '/v1/owner/sign-out');
  if (!res) return;
  if (!res.ok && res.status !== 401) return fail(await problemText(res));
  showSignIn();
  say(t.signedOut);
  byId('email').focus();
}

byId('link-form').addEventListener('submit', sendLink);
byId('accept').addEventListener('click', () => accept(true));
byId('sign-out').addEventListener('click', signOut);
// An invitation link pasted into this open page changes only the fragment: no new page load runs this script.
window.addEventListener('hashchange', () => {
  const pasted = takeSecret();
  if (pasted) {
    secret = pasted;
    accept(false);
  }
});

accept(false);
`;
