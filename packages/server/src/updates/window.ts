import { invalid } from '../errors.js';

/** A recurring maintenance window: on these weekdays, from start to end (local time in `timeZone`). */
export interface MaintenanceWindow {
  /** 0 = Sunday … 6 = Saturday. */
  days: Set<number>;
  startMinute: number;
  endMinute: number;
  timeZone: string;
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function minuteOf(text: string): number {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text);
  if (!match) throw invalid('window', `${JSON.stringify(text)} is not a time HH:MM`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function dayOf(text: string): number {
  const index = DAY_NAMES.indexOf(text.toLowerCase().slice(0, 3));
  if (index < 0 || text.length > 9) throw invalid('window', `${JSON.stringify(text)} is not a weekday`);
  return index;
}

/**
 * Parses `DAYS HH:MM-HH:MM [TIMEZONE]`: DAYS is `daily`, a day (`Sat`), a range (`Mon-Fri`) or a
 * list (`Sat,Sun`); the time zone is an IANA name (default UTC). A window that ends before it
 * starts runs over midnight and belongs to the day it starts on.
 */
export function parseWindow(text: string): MaintenanceWindow {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || parts.length > 3)
    throw invalid(
      'window',
      'expected "DAYS HH:MM-HH:MM [TIMEZONE]", for example "Mon-Fri 02:00-05:00 Europe/Berlin"',
    );
  const [daysText = '', timesText = '', timeZone = 'UTC'] = parts;
  const days = new Set<number>();
  for (const item of daysText.split(',')) {
    if (item.toLowerCase() === 'daily') for (let d = 0; d < 7; d++) days.add(d);
    else if (item.includes('-')) {
      const [from = '', to = ''] = item.split('-');
      const start = dayOf(from);
      const end = dayOf(to);
      for (let d = start; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === end) break;
      }
    } else days.add(dayOf(item));
  }
  const [startText = '', endText = ''] = timesText.split('-');
  const startMinute = minuteOf(startText);
  const endMinute = minuteOf(endText);
  if (startMinute === endMinute) throw invalid('window', 'start and end are the same time');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw invalid('window', `${JSON.stringify(timeZone)} is not an IANA time zone`);
  }
  return { days, startMinute, endMinute, timeZone };
}

/** Is `at` inside the window? */
export function isOpen(window: MaintenanceWindow, at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: window.timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = dayOf(get('weekday'));
  const minute = Number(get('hour')) * 60 + Number(get('minute'));
  if (window.startMinute < window.endMinute)
    return window.days.has(day) && minute >= window.startMinute && minute < window.endMinute;
  // Over midnight: the evening part on a window day, the morning part on the day after one.
  if (minute >= window.startMinute) return window.days.has(day);
  return minute < window.endMinute && window.days.has((day + 6) % 7);
}
