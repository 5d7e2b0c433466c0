import { useSession } from '../../session.js';
import { t } from './list-messages.js';

/** The CLI line that provisions a batch: the factory line's way, the same API underneath. */
export const PROVISION_COMMAND =
  'brickless devices provision --product PLUG-1 --count 100 --serial-prefix PLUG- --out devices.jsonl';

/** What an empty fleet says (issue 17): how devices get here, for those who can do it. */
export function ProvisionHint() {
  const { can } = useSession();
  if (!can('fleet:write'))
    return (
      <>
        <p>{t.emptyStart}</p>
        <p>{t.emptyAsk}</p>
      </>
    );
  return (
    <>
      <p>{t.emptyStart}</p>
      <p>
        {t.emptyProducts} <a href="/products">{t.emptyProductsLink}</a>.
      </p>
      <p>
        <a class="button button-primary" href="/devices/provision">
          {t.provision}
        </a>
      </p>
      <p>{t.emptyCli}</p>
      <pre class="command">
        <code>{PROVISION_COMMAND}</code>
      </pre>
      <p>{t.emptyAfter}</p>
    </>
  );
}
