/**
 * Parallel's test job: sleep about half a second, answer 1. It measures the machinery, not the CPU: with
 * T threads in the swarm, N such tasks take about N × 0.5 s / T.
 */
export default async function sleep(ms: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return 1;
}
