import { PageTitle } from '../components/page.js';
import { common } from '../i18n/common.js';

export default function NotFound() {
  return (
    <>
      <PageTitle title={common.notFoundTitle} />
      <p>{common.notFoundText}</p>
      <p>
        <a href="/">{common.overview}</a>
      </p>
    </>
  );
}
