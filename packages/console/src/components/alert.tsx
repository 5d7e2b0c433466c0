import { ApiError, NetworkError } from '../api/client.js';
import { common } from '../i18n/common.js';

/** What an error means for the person, with what to do: the server words its problems for people. */
export function errorText(error: unknown): string {
  if (error instanceof NetworkError) return common.networkError;
  if (error instanceof ApiError) {
    const detail = error.problem.detail ?? error.problem.title ?? error.message;
    const fields = (error.problem.errors ?? [])
      .map((f) => [f.field?.replace(/^\//, ''), f.message].filter(Boolean).join(': '))
      .filter(Boolean);
    if (error.status === 403 && !error.problem.detail) return common.forbidden;
    return fields.length > 0 ? `${detail} (${fields.join('; ')})` : detail;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An error, announced at once (role=alert), with a retry when the page can load again. */
export function ErrorMessage(props: { error: unknown; retry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="alert alert-error" role="alert">
      <p>
        <strong>{common.errorPrefix}:</strong> {errorText(props.error)}
      </p>
      {props.retry ? (
        <button type="button" class="button-secondary" onClick={props.retry}>
          {common.tryAgain}
        </button>
      ) : null}
    </div>
  );
}

/** A change that worked, announced politely. */
export function Notice(props: { text: string | null }) {
  return (
    <p class="notice" role="status" aria-live="polite">
      {props.text ?? ''}
    </p>
  );
}
