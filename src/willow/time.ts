/**
 * Entry timestamps: u64 microseconds of International Atomic Time (TAI) since the J2000 epoch
 * (2000-01-01 12:00:00 TT).
 *
 * Why this epoch: the data model spec (willowprotocol.org `data_model.tsx`, "Timestamp")
 * recommends it, for Willow'25 just as for any instantiation, and asks to prefer TAI over Unix
 * time because Unix time repeats a second at each leap second, which would let a later write carry
 * an earlier timestamp and lose to the write it meant to replace. This gateway implements the
 * Willow'25 encodings, not iroh-willow's 2024 wire format (see willow.md §0), so the Unix-epoch
 * microseconds iroh-willow uses would buy no interoperability; following the recommendation is
 * what other Willow'25 peers will expect. The helpers convert from and to JavaScript's Unix
 * milliseconds.
 *
 * J2000 is 2000-01-01 11:58:55.816 UTC (TT = TAI + 32.184 s, and TAI − UTC was 32 s then). Since
 * then UTC inserted the leap seconds listed below; TAI − UTC has been 37 s since 2017. No leap
 * second is announced after that (IERS Bulletin C); should one be, add it to the table.
 *
 * @module
 */

import { InvalidWillowValueError } from "./errors.ts";
import { U64_MAX } from "./params.ts";

/** J2000 in Unix milliseconds (2000-01-01T11:58:55.816Z). */
export const J2000_UNIX_MILLIS = 946_727_935_816;

/** The UTC instants (Unix ms) after J2000 at which TAI − UTC grew by one second. */
const LEAP_SECONDS = [
  Date.UTC(2006, 0, 1),
  Date.UTC(2009, 0, 1),
  Date.UTC(2012, 6, 1),
  Date.UTC(2015, 6, 1),
  Date.UTC(2017, 0, 1),
];

function leapsUpTo(unixMillis: number): number {
  let n = 0;
  while (n < LEAP_SECONDS.length && LEAP_SECONDS[n] <= unixMillis) n++;
  return n;
}

/** The Willow timestamp of a Unix time in milliseconds (at or after J2000). */
export function timestampFromUnixMillis(unixMillis: number): bigint {
  if (!Number.isFinite(unixMillis) || unixMillis < J2000_UNIX_MILLIS) {
    throw new InvalidWillowValueError("timestamps start at J2000 (2000-01-01T11:58:55.816Z)");
  }
  const ms = Math.trunc(unixMillis);
  return BigInt(ms - J2000_UNIX_MILLIS) * 1000n + BigInt(leapsUpTo(ms)) * 1_000_000n;
}

/** The Unix time in milliseconds of a Willow timestamp (inside a leap second: its end). */
export function unixMillisFromTimestamp(timestamp: bigint): number {
  if (timestamp < 0n || timestamp > U64_MAX) throw new InvalidWillowValueError("not a u64");
  const elapsed = Number(timestamp / 1000n) + J2000_UNIX_MILLIS;
  let leaps = leapsUpTo(elapsed);
  while (leaps > 0 && leapsUpTo(elapsed - leaps * 1000) < leaps) leaps--;
  return elapsed - leaps * 1000;
}

/** The current time as a Willow timestamp. */
export function now(): bigint {
  return timestampFromUnixMillis(Date.now());
}
