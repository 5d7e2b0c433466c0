import { PageTitle, Section } from '../../components/page.js';
import { formatDateTime } from '../../i18n/index.js';
import { useSession } from '../../session.js';
import '../settings/settings.css';
import { t } from './messages.js';
import { Passkeys } from './passkeys.js';
import { Password } from './password.js';
import { Sessions } from './sessions.js';
import { MyTokens } from './tokens.js';
import { RecoveryCodes, Totp } from './totp.js';

/** The signed-in person's own account (issue 16 §3, §5; issue 17): any signed-in person. */
export default function Account() {
  const { me, orgs } = useSession();
  const person = me.person;
  return (
    <>
      <PageTitle title={t.title} />
      <Section title={t.profileTitle} id="account-profile">
        <dl class="facts">
          <dt>{t.name}</dt>
          <dd>{person.displayName}</dd>
          <dt>{t.email}</dt>
          <dd>{person.email}</dd>
          <dt>{t.since}</dt>
          <dd>{formatDateTime(person.createdAt)}</dd>
          <dt>{t.lastSignIn}</dt>
          <dd>{formatDateTime(person.lastSignInAt)}</dd>
          <dt>{t.memberships}</dt>
          <dd>
            {person.platformAdmin ? t.platformAdmin : null}
            {!person.platformAdmin && me.memberships.length === 0 ? t.noMemberships : null}
            {me.memberships.length > 0 ? (
              <ul>
                {me.memberships.map((m) => (
                  <li key={m.orgId}>
                    {m.name}: {m.roles.join(', ')}
                  </li>
                ))}
              </ul>
            ) : null}
          </dd>
        </dl>
      </Section>
      <Passkeys />
      <Password hasPassword={person.factors.password} />
      <Totp />
      <RecoveryCodes />
      <Sessions />
      {orgs.length > 0 || me.memberships.length > 0 ? <MyTokens /> : null}
    </>
  );
}
