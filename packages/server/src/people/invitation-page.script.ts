/**
 * The script of the invitation page (served as /invitation.js, invitation-page.ts). Plain ES, no
 * build step, no eval, no innerHTML: every text reaches the page through textContent, so nothing
 * the API answers is ever parsed as HTML (the page's CSP also enforces Trusted Types).
 *
 * The secret is read from the fragment and removed from the address bar at once
 * (history.replaceState), so it is not left in the history, a bookmark or a screenshot; it stays
 * only in this script's memory. The page's texts are in the HTML (one page per language); the
 * messages made here come from the table below, picked by <html lang>.
 */
export const INVITATION_SCRIPT = `
const TEXT = {
  en: {
    incomplete: 'This link is incomplete. Copy the whole link, including the part after #, and open it again.',
    loading: 'Checking the link…',
    broken: 'This link does not work.',
    org: 'Organisation',
    roles: 'Roles',
    platform: 'Platform administrator of this brickless: all organisations, their people and the platform settings (the first administrator, when nobody has an account yet).',
    email: 'E-mail address',
    expires: 'Valid until',
    sending: 'Creating your account…',
    error: 'Error: ',
    needEmail: 'Enter your e-mail address.',
    shortPassword: 'The password needs at least 12 characters.',
    network: 'The server could not be reached. Try again.',
    signedIn: 'You are signed in as ',
  },
  de: {
    incomplete: 'Dieser Link ist unvollständig. Kopieren Sie den ganzen Link, auch den Teil nach #, und öffnen Sie ihn erneut.',
    loading: 'Der Link wird geprüft…',
    broken: 'Dieser Link funktioniert nicht.',
    org: 'Organisation',
    roles: 'Rollen',
    platform: 'Plattform-Administration dieses brickless: alle Organisationen, ihre Personen und die Plattform-Einstellungen (die erste Administration, solange noch niemand ein Konto hat).',
    email: 'E-Mail-Adresse',
    expires: 'Gültig bis',
    sending: 'Ihr Konto wird angelegt…',
    error: 'Fehler: ',
    needEmail: 'Geben Sie Ihre E-Mail-Adresse ein.',
    shortPassword: 'Das Passwort braucht mindestens 12 Zeichen.',
    network: 'Der Server war nicht erreichbar. Versuchen Sie es erneut.',
    signedIn: 'Sie sind angemeldet als ',
  },
};
const lang = document.documentElement.lang === 'de' ? 'de' : 'en';
const t = TEXT[lang];
const byId = (id) => document.getElementById(id);

// Take the secret out of the address bar before anything else can read or keep it.
const secret = decodeURIComponent(location.hash.slice(1));
if (location.hash) history.replaceState(null, '', location.pathname + location.search);

const status = byId('status');
const alertBox = byId('alert');
const form = byId('accept');

function say(text) {
  status.textContent = text;
}
function fail(text) {
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
function row(list, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  list.append(dt, dd);
}

async function show() {
  if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) {
    fail(t.incomplete);
    return;
  }
  say(t.loading);
  let res;
  try {
    res = await fetch('/v1/auth/invitations/' + secret, { headers: { accept: 'application/json' } });
  } catch {
    say('');
    fail(t.network);
    return;
  }
  say('');
  if (!res.ok) {
    fail(t.broken + ' ' + (await problemText(res)));
    return;
  }
  const offer = await res.json();
  const list = byId('offer');
  if (offer.orgName) row(list, t.org, offer.orgName + ' (' + offer.orgSlug + ')');
  if (offer.roles.length) row(list, t.roles, offer.roles.join(', '));
  if (offer.platformAdmin) row(list, t.roles, t.platform);
  if (offer.email) row(list, t.email, offer.email);
  row(list, t.expires, new Date(offer.expiresAt).toLocaleString(lang));
  byId('offer-section').hidden = false;
  if (offer.email) byId('email-field').remove();
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    accept(Boolean(offer.email));
  });
  (offer.email ? byId('displayName') : byId('email')).focus();
}

function invalid(field, message) {
  field.setAttribute('aria-invalid', 'true');
  fail(message);
  field.focus();
}

async function accept(emailKnown) {
  clearFailure();
  for (const field of form.querySelectorAll('input')) field.removeAttribute('aria-invalid');
  const body = {};
  if (!emailKnown) {
    const email = byId('email');
    if (!email.value.trim()) return invalid(email, t.needEmail);
    body.email = email.value.trim();
  }
  const displayName = byId('displayName').value.trim();
  if (displayName) body.displayName = displayName;
  const password = byId('password');
  if ([...password.value].length < 12) return invalid(password, t.shortPassword);
  body.password = password.value;
  const button = byId('submit');
  button.disabled = true;
  say(t.sending);
  let res;
  try {
    res = await fetch('/v1/auth/invitations/' + secret + '/accept', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    button.disabled = false;
    say('');
    fail(t.network);
    return;
  }
  say('');
  if (!res.ok) {
    button.disabled = false;
    fail(await problemText(res));
    return;
  }
  const signedIn = await res.json();
  password.value = '';
  form.hidden = true;
  byId('offer-section').hidden = true;
  byId('signed-in-as').textContent =
    t.signedIn + signedIn.person.displayName + ' (' + signedIn.person.email + ').';
  const done = byId('done');
  done.hidden = false;
  byId('done-heading').focus();
}

show();
`;
