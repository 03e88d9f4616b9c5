/**
 * A small seeded pseudo-random generator, so a simulator run is reproducible from its seed. Not for
 * anything secret: device keys are derived with keccak256, never from this. Pure: no I/O, no clock.
 */

/** A stream of pseudo-random numbers in [0, 1). */
export interface Rng {
  next(): number;
}

/**
 * mulberry32 (Tommy Ettinger): 32 bits of state, passes gjrand/PractRand far beyond what a simulation
 * of a few hundred meters draws, and is trivially serialisable if a run ever needs to be resumed.
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** 32-bit FNV-1a of a string: turns a user's `--seed` text and a stream label into a generator seed. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * An independent stream per named part of the simulation (a meter, a zone's weather): a part's
 * trajectory then does not depend on how many numbers other parts drew, or in which order.
 */
export function streamRng(seed: string, label: string): Rng {
  return mulberry32(hashSeed(`${seed}\u0000${label}`));
}

/** Uniform in [min, max). */
export function uniform(rng: Rng, min: number, max: number): number {
  return min + (max - min) * rng.next();
}

/** Integer uniform in [min, max]. */
export function integerBetween(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng.next() * (max - min + 1));
}

/** True with probability `p`. */
export function chance(rng: Rng, p: number): boolean {
  return rng.next() < p;
}

/** Normal(mean, sd) by Box–Muller (one of the pair is dropped: simpler state, cost irrelevant here). */
export function gaussian(rng: Rng, mean: number, sd: number): number {
  const u = 1 - rng.next(); // (0, 1]: log(0) must not happen
  const v = rng.next();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One of `items`, uniformly. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError("pick from an empty list");
  return items[Math.floor(rng.next() * items.length)] as T;
}
