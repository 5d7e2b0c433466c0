/**
 * The script of the owner sign-in page (served as /owner/sign-in.js, owners/sign-in-page.ts).
 * Plain ES, no build step, no eval, no innerHTML: every text reaches the page through
 * textContent (the page's CSP also enforces Trusted Types).
 *
 * The link's secret is read from the fragment and removed from the address bar at once
 * (history.replaceState), so it is not left in the history, a bookmark or a screenshot; it goes
 * to the server only in the body of a POST, never in a URL, so no access log can hold it.
 * WebAuthn's binary fields are converted by hand (base64url), so browsers without
 * PublicKeyCredential.parseCreationOptionsFromJSON work as well.
 */
export const OWNER_SIGN_IN_SCRIPT = `
const TEXT = {
  en: {
    incomplete: 'This link is incomplete. Copy the whole link, including the part after #, and open it again, or ask for a new one below.',
    checking: 'Signing you in…',
    linkBroken: 'This link does not work: ',
    error: 'Error: ',
    needEmail: 'Enter your e-mail address.',
    sending: 'Sending the link…',
    sent: 'We sent a link to {email}. Open it within 15 minutes, in this browser. No mail? Check the spam folder, or ask again.',
    network: 'The server could not be reached. Try again.',
    noPasskeys: 'This browser cannot use passkeys. Use the link by e-mail.',
    passkeyWaiting: 'Follow your device’s prompt to use your passkey…',
    cancelled: 'The passkey prompt was closed or timed out. Try again, or use the link by e-mail.',
    signedIn: 'You are signed in as {email}.',
    needName: 'Give the passkey a name.',
    adding: 'Follow your device’s prompt to create the passkey…',
    added: 'Passkey added: {name}. Next time, sign in with it.',
    signedOut: 'You are signed out.',
  },
  de: {
    incomplete: 'Dieser Link ist unvollständig. Kopieren Sie den ganzen Link, auch den Teil nach #, und öffnen Sie ihn erneut, oder fordern Sie unten einen neuen an.',
    checking: 'Sie werden angemeldet…',
    linkBroken: 'Dieser Link funktioniert nicht: ',
    error: 'Fehler: ',
    needEmail: 'Geben Sie Ihre E-Mail-Adresse ein.',
    sending: 'Der Link wird gesendet…',
    sent: 'Wir haben einen Link an {email} gesendet. Öffnen Sie ihn innerhalb von 15 Minuten in diesem Browser. Keine E-Mail? Sehen Sie im Spam-Ordner nach, oder fordern Sie ihn erneut an.',
    network: 'Der Server war nicht erreichbar. Versuchen Sie es erneut.',
    noPasskeys: 'Dieser Browser kann keine Passkeys verwenden. Nutzen Sie den Link per E-Mail.',
    passkeyWaiting: 'Folgen Sie der Aufforderung Ihres Geräts, um Ihren Passkey zu verwenden…',
    cancelled: 'Die Passkey-Abfrage wurde geschlossen oder ist abgelaufen. Versuchen Sie es erneut, oder nutzen Sie den Link per E-Mail.',
    signedIn: 'Sie sind angemeldet als {email}.',
    needName: 'Geben Sie dem Passkey einen Namen.',
    adding: 'Folgen Sie der Aufforderung Ihres Geräts, um den Passkey anzulegen…',
    added: 'Passkey hinzugefügt: {name}. Melden Sie sich nächstes Mal damit an.',
    signedOut: 'Sie sind abgemeldet.',
  },
};
const lang = document.documentElement.lang === 'de' ? 'de' : 'en';
const t = TEXT[lang];
const byId = (id) => document.getElementById(id);
const fill = (text, values) => text.replace(/[{](email|name)[}]/g, (_, key) => values[key]);

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
const secret = takeSecret();

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

// base64url <-> bytes, as WebAuthn's JSON forms carry binary (W3C WebAuthn §5.1.8).
function toBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}
function toText(buffer) {
  let raw = '';
  for (const byte of new Uint8Array(buffer)) raw += String.fromCharCode(byte);
  return btoa(raw).replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '');
}
const credentialList = (list) => (list || []).map((c) => ({ ...c, id: toBytes(c.id) }));
function common(credential) {
  return {
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults(),
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
  };
}
const passkeysWork = () => typeof PublicKeyCredential === 'function' && Boolean(navigator.credentials);

function showSignIn() {
  byId('done').hidden = true;
  byId('sign-in').hidden = false;
}

async function showSignedIn(owner, focus) {
  csrfToken = owner.csrfToken;
  byId('sign-in').hidden = true;
  byId('signed-in-as').textContent = fill(t.signedIn, { email: owner.email });
  // The list first, then the section: what appears is complete, never filled in a moment later.
  await listPasskeys();
  byId('done').hidden = false;
  if (focus) byId('done-heading').focus();
}

async function listPasskeys() {
  const res = await api('GET', '/v1/owner/passkeys');
  if (!res || !res.ok) return;
  const { items } = await res.json();
  const list = byId('passkeys');
  list.replaceChildren(
    ...items.map((p) => {
      const item = document.createElement('li');
      item.textContent = p.name;
      return item;
    }),
  );
  list.hidden = items.length === 0;
  byId('no-passkeys').hidden = items.length > 0;
}

async function useLink(secret) {
  clearFailure();
  if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    showSignIn();
    fail(t.incomplete);
    return;
  }
  say(t.checking);
  const res = await api('POST', '/v1/owner/sign-in/complete', { token: secret });
  if (!res) return showSignIn();
  if (!res.ok) {
    showSignIn();
    fail(t.linkBroken + (await problemText(res)));
    return;
  }
  const done = await res.json();
  say('');
  await showSignedIn({ ...done.owner, csrfToken: done.csrfToken }, true);
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

async function signInWithPasskey() {
  clearFailure();
  if (!passkeysWork()) return fail(t.noPasskeys);
  const button = byId('passkey');
  button.disabled = true;
  try {
    const started = await api('POST', '/v1/owner/sign-in/passkey/options', {});
    if (!started) return;
    if (!started.ok) return fail(await problemText(started));
    const { challengeId, options } = await started.json();
    say(t.passkeyWaiting);
    let credential;
    try {
      credential = await navigator.credentials.get({
        publicKey: { ...options, challenge: toBytes(options.challenge), allowCredentials: credentialList(options.allowCredentials) },
      });
    } catch {
      return fail(t.cancelled);
    }
    const r = credential.response;
    const response = {
      ...common(credential),
      response: {
        clientDataJSON: toText(r.clientDataJSON),
        authenticatorData: toText(r.authenticatorData),
        signature: toText(r.signature),
        ...(r.userHandle && r.userHandle.byteLength ? { userHandle: toText(r.userHandle) } : {}),
      },
    };
    const res = await api('POST', '/v1/owner/sign-in/passkey/verify', { challengeId, response });
    if (!res) return;
    if (!res.ok) return fail(await problemText(res));
    const done = await res.json();
    say('');
    await showSignedIn({ ...done.owner, csrfToken: done.csrfToken }, true);
  } finally {
    button.disabled = false;
  }
}

async function addPasskey(event) {
  event.preventDefault();
  clearFailure();
  const field = byId('passkey-name');
  field.removeAttribute('aria-invalid');
  const name = field.value.trim();
  if (!name) {
    field.setAttribute('aria-invalid', 'true');
    fail(t.needName);
    field.focus();
    return;
  }
  if (!passkeysWork()) return fail(t.noPasskeys);
  const button = byId('add');
  button.disabled = true;
  try {
    const started = await api('POST', '/v1/owner/passkeys/options');
    if (!started) return;
    if (!started.ok) return fail(await problemText(started));
    const { options } = await started.json();
    say(t.adding);
    let credential;
    try {
      credential = await navigator.credentials.create({
        publicKey: {
          ...options,
          challenge: toBytes(options.challenge),
          user: { ...options.user, id: toBytes(options.user.id) },
          excludeCredentials: credentialList(options.excludeCredentials),
        },
      });
    } catch {
      return fail(t.cancelled);
    }
    const r = credential.response;
    const transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
    const response = {
      ...common(credential),
      response: {
        clientDataJSON: toText(r.clientDataJSON),
        attestationObject: toText(r.attestationObject),
        ...(transports.length ? { transports } : {}),
      },
    };
    const res = await api('POST', '/v1/owner/passkeys', { name, response });
    if (!res) return;
    if (!res.ok) return fail(await problemText(res));
    const added = await res.json();
    await listPasskeys();
    say(fill(t.added, { name: added.name }));
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  clearFailure();
  const res = await api('POST', '/v1/owner/sign-out');
  if (!res) return;
  if (!res.ok && res.status !== 401) return fail(await problemText(res));
  csrfToken = null;
  showSignIn();
  say(t.signedOut);
  byId('passkey').focus();
}

byId('link-form').addEventListener('submit', sendLink);
byId('passkey').addEventListener('click', signInWithPasskey);
byId('add-form').addEventListener('submit', addPasskey);
byId('sign-out').addEventListener('click', signOut);
// A link pasted into this open page changes only the fragment: no new page load runs this script.
window.addEventListener('hashchange', () => {
  const pasted = takeSecret();
  if (pasted) useLink(pasted);
});

async function start() {
  if (secret) return useLink(secret);
  // No link: an owner who is signed in already (a reload) sees their session, others the choices.
  const me = await api('GET', '/v1/owner/me');
  if (me && me.ok) return showSignedIn(await me.json(), false);
  showSignIn();
}

start();
`;
