/**
 * Operations per second of batch, which performs operationsPerBatch
 * operations. One batch warms the code up untimed; then batches run until
 * minimumMs have passed, so a short batch is not lost in timer resolution.
 */
export function measureOpsPerSecond(batch: () => void, operationsPerBatch: number, minimumMs = 250): number {
  batch();
  let batches = 0;
  const started = performance.now();
  let elapsedMs = 0;
  while (elapsedMs < minimumMs) {
    batch();
    batches++;
    elapsedMs = performance.now() - started;
  }
  return Math.round((batches * operationsPerBatch * 1000) / elapsedMs);
}
