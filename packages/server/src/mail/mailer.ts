import type { Transporter } from 'nodemailer';
import { DomainError } from '../errors.js';

/** One message to one person: plain text always (every client reads it), HTML optional. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** Headers such as `List-Unsubscribe` (RFC 8058) or `Auto-Submitted: auto-generated` (RFC 3834). */
  headers?: Record<string, string>;
}

/** Sends e-mail. The SMTP implementation is the only one the server uses. */
export interface Mailer {
  /** True when an SMTP server is configured; without one, `send` refuses with `mail-not-configured`. */
  readonly configured: boolean;
  /** The sender address (config `mail.from`). */
  readonly from: string | null;
  /** Sends the message; resolves with the SMTP server's message id once the server accepted it. */
  send(message: MailMessage): Promise<{ messageId: string }>;
  close(): void;
}

export interface MailSettings {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://host:465` (implicit TLS). */
  smtpUrl?: string;
  /** The sender, e.g. `Acme Devices <noreply@acme.example>`. */
  from?: string;
  /** Accept a self-signed certificate from the SMTP server (tests and LANs only). */
  allowUnverifiedTls?: boolean;
}

// A subject or header value is one line: a CR or LF in it would start a header of its own
// (header injection, CWE-93). nodemailer folds long lines itself.
const oneLine = (value: string, field: string): string => {
  if (/[\r\n]/.test(value)) throw new DomainError('validation-failed', `${field} must be a single line`);
  return value;
};

// RFC 5321 4.5.3.1.3: a path is at most 256 octets; one address, no display name, no list.
const ADDRESS = /^[^\s@<>,;:"()[\]\\]{1,64}@[A-Za-z0-9.-]{1,253}$/;

/** True when `text` is one plain e-mail address (what a recipient field accepts). */
export const isMailAddress = (text: string): boolean => text.length <= 254 && ADDRESS.test(text);

/** E-mail over SMTP with nodemailer (docs/decisions/0021-mail-and-notifications.md). */
export class SmtpMailer implements Mailer {
  readonly configured: boolean;
  readonly from: string | null;
  #transport: Transporter | null = null;
  readonly #settings: MailSettings;

  constructor(settings: MailSettings) {
    this.#settings = settings;
    this.configured = Boolean(settings.smtpUrl && settings.from);
    this.from = settings.from ?? null;
  }

  async #transporter(): Promise<Transporter> {
    if (this.#transport) return this.#transport;
    // Loaded on first use: a server that never sends mail never loads nodemailer (start time, issue 20).
    const nodemailer = (await import('nodemailer')).default;
    const url = new URL(this.#settings.smtpUrl as string);
    this.#transport = nodemailer.createTransport({
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
      secure: url.protocol === 'smtps:',
      ...(url.username
        ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
        : {}),
      ...(this.#settings.allowUnverifiedTls ? { tls: { rejectUnauthorized: false } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
    return this.#transport;
  }

  async send(message: MailMessage): Promise<{ messageId: string }> {
    if (!this.configured) {
      throw new DomainError(
        'mail-not-configured',
        'no SMTP server is configured: set mail.smtpUrl and mail.from (or BRICKLESS_MAIL_SMTP_URL and BRICKLESS_MAIL_FROM)',
      );
    }
    if (!isMailAddress(message.to))
      throw new DomainError('validation-failed', 'the recipient is not one e-mail address');
    const headers: Record<string, string> = { 'Auto-Submitted': 'auto-generated' };
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      headers[oneLine(name, 'a header name')] = oneLine(value, `header ${name}`);
    }
    const transport = await this.#transporter();
    const info = await transport.sendMail({
      from: this.from as string,
      to: message.to,
      subject: oneLine(message.subject, 'the subject'),
      text: message.text,
      ...(message.html ? { html: message.html } : {}),
      headers,
    });
    return { messageId: String(info.messageId ?? '') };
  }

  close(): void {
    this.#transport?.close();
    this.#transport = null;
  }
}
