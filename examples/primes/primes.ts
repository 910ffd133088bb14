/**
 * distributed-worker's prime checker as a Barnraise job: one task checks a range of numbers and returns the
 * primes in it. Trial division by odd numbers up to the square root, as naive as the original meant to be
 * (its own `is_prime` divided by every number below x); the point is the distribution, not the number theory.
 */
export interface Range {
  /** First number of the range. */
  from: number;
  /** One past the last. */
  to: number;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export default function primesIn({ from, to }: Range): number[] {
  const primes: number[] = [];
  for (let n = from; n < to; n++) if (isPrime(n)) primes.push(n);
  return primes;
}
