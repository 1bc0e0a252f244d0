// A seedable PRNG so a test can pin the "random" first update_id and replay a run exactly.

/** A function returning uniformly distributed numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough for ids in a test double. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The first update_id of a fresh queue. The real server starts each bot's queue at a random id,
 * so a client that assumes ids start at 1 (or that offset 1 is "the start") is caught here too.
 * Kept well inside int32 so many updates fit before the id would overflow.
 */
export function randomFirstUpdateId(random: Random): number {
  return 1 + Math.floor(random() * 2 ** 30);
}
