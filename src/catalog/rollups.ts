/**
 * A series' hourly rollups for one UTC day, packed into one row (history_rollups.hours, schema 9).
 *
 * One row per hour would cost about 25 bytes of SQLite overhead each: 100 datastores' three figures over a
 * year would take 70 MiB in rollups alone. One row per day, its hours delta-coded, takes about a quarter.
 *
 * The blob: a mode byte, then for each hour from 0 up to the last one with samples, its sample count (a
 * varint; 0: no sample that hour, nothing follows), then
 * - mode 1 (every figure of the day an integer, as MB figures are): zigzag(min - previous hour's min),
 *   max - min, sum - count * min, each a varint;
 * - mode 2 (any other value): min, max and sum as float64 (little-endian).
 * An hour's average is sum / count.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** One hour's rollup. */
export interface HourRollup {
  min: number;
  max: number;
  sum: number;
  count: number;
}

/** A day's hours, 0 to 23 (UTC); undefined: no sample that hour. */
export type DayRollups = Array<HourRollup | undefined>;

const INTEGERS = 1;
const FLOATS = 2;
/** Integer coding keeps every intermediate value (zigzag doubles one) a safe integer. */
const INT_LIMIT = 2 ** 50;

export const emptyDay = (): DayRollups => new Array<HourRollup | undefined>(24).fill(undefined);

/** Adds an aggregate of samples (`rollup`) to `hour` of `day`. */
export function mergeIntoDay(day: DayRollups, hour: number, rollup: HourRollup): void {
  const slot = day[hour];
  if (slot === undefined) day[hour] = { min: rollup.min, max: rollup.max, sum: rollup.sum, count: rollup.count };
  else {
    if (rollup.min < slot.min) slot.min = rollup.min;
    if (rollup.max > slot.max) slot.max = rollup.max;
    slot.sum += rollup.sum;
    slot.count += rollup.count;
  }
}

function integral(day: DayRollups): boolean {
  for (const slot of day) {
    if (slot === undefined) continue;
    const { min, max, sum, count } = slot;
    if (!Number.isInteger(min) || !Number.isInteger(max) || !Number.isInteger(sum)) return false;
    if (Math.abs(min) > INT_LIMIT || Math.abs(max) > INT_LIMIT || Math.abs(sum) > INT_LIMIT || Math.abs(count * min) > INT_LIMIT) return false;
  }
  return true;
}

/** Every day is encoded here first, then copied out: one allocation a day, not two. */
let scratch = Buffer.allocUnsafe(1024);

class Writer {
  private buffer = scratch;
  length = 0;

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
    scratch = bigger;
  }

  byte(value: number): void {
    this.room(1);
    this.buffer[this.length++] = value;
  }

  /** A non-negative safe integer, 7 bits a byte (arithmetic, not bitwise: values pass 2^32). */
  varint(value: number): void {
    this.room(8);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  float(value: number): void {
    this.room(8);
    this.buffer.writeDoubleLE(value, this.length);
    this.length += 8;
  }

  done(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

const zigzag = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);
const unzigzag = (value: number): number => (value % 2 === 0 ? value / 2 : -(value + 1) / 2);

export function encodeDay(day: DayRollups): Buffer {
  const out = new Writer();
  const ints = integral(day);
  out.byte(ints ? INTEGERS : FLOATS);
  let last = -1;
  for (let hour = 0; hour < 24; hour++) if (day[hour] !== undefined) last = hour;
  let previousMin = 0;
  for (let hour = 0; hour <= last; hour++) {
    const slot = day[hour];
    if (slot === undefined) {
      out.varint(0);
      continue;
    }
    out.varint(slot.count);
    if (ints) {
      out.varint(zigzag(slot.min - previousMin));
      out.varint(slot.max - slot.min);
      out.varint(slot.sum - slot.count * slot.min);
      previousMin = slot.min;
    } else {
      out.float(slot.min);
      out.float(slot.max);
      out.float(slot.sum);
    }
  }
  return out.done();
}

export function decodeDay(blob: Uint8Array): DayRollups {
  const day = emptyDay();
  const view = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  let at = 1;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = view[at++];
      if (byte === undefined) throw new Error('a rollup day ends inside a number');
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  };
  const float = (): number => {
    const value = view.readDoubleLE(at);
    at += 8;
    return value;
  };
  const mode = view[0];
  if (mode !== INTEGERS && mode !== FLOATS) throw new Error(`a rollup day in an unknown coding (${String(mode)})`);
  let previousMin = 0;
  for (let hour = 0; hour < 24 && at < view.length; hour++) {
    const count = varint();
    if (count === 0) continue;
    if (mode === INTEGERS) {
      const min = previousMin + unzigzag(varint());
      const max = min + varint();
      const sum = count * min + varint();
      day[hour] = { min, max, sum, count };
      previousMin = min;
    } else {
      day[hour] = { min: float(), max: float(), sum: float(), count };
    }
  }
  return day;
}
