// One scrape: GET http://<host:port>/metrics, bounded in time and in size,
// the body as text. Anything but a whole 200 answer within the bounds is an
// error: the sampler then leaves the target out of that point.
import { request, type Agent } from 'node:http';
import { CancelledError, DeadlineExceededError, ResourceExhaustedError, UnavailableError } from '@bulwark/errors';

export interface ScrapeLimits {
  /** The whole exchange, connecting included. */
  readonly timeoutMs: number;
  /** Largest body read; a longer one is abandoned. */
  readonly bytesMax: number;
}

/**
 * The text a metrics endpoint serves. Rejects with UnavailableError for a
 * target that cannot be reached, answers another status or breaks off,
 * ResourceExhaustedError for a body over bytesMax, DeadlineExceededError
 * past timeoutMs, CancelledError once `signal` aborts.
 */
export function scrapeMetricsText(
  address: string,
  limits: ScrapeLimits,
  options: { readonly agent: Agent; readonly signal: AbortSignal },
): Promise<string> {
  const url = `http://${address}/metrics`;
  return new Promise<string>((resolve, reject) => {
    const timeout = AbortSignal.timeout(limits.timeoutMs);
    /** Settles first (later events of the torn-down exchange change nothing), then tears the exchange down. */
    const fail = (error: Error) => {
      reject(error);
      exchange.destroy();
    };
    const exchange = request(
      url,
      {
        agent: options.agent,
        signal: AbortSignal.any([options.signal, timeout]),
        // The text format the parser reads, not OpenMetrics.
        headers: { accept: 'text/plain;version=0.0.4' },
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new UnavailableError(`GET ${url} answered ${response.statusCode}`));
          return;
        }
        const tooLong = () =>
          fail(
            new ResourceExhaustedError('scrapeBytesMax', `GET ${url} answered more than ${limits.bytesMax} bytes`, {
              retryable: false,
            }),
          );
        if (Number(response.headers['content-length'] ?? 0) > limits.bytesMax) return tooLong();
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > limits.bytesMax) tooLong();
          else chunks.push(chunk);
        });
        response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        response.on('error', (error) => fail(new UnavailableError(`GET ${url} broke off: ${error.message}`)));
      },
    );
    exchange.on('error', (error) => {
      if (options.signal.aborted) reject(new CancelledError(`GET ${url} abandoned: the sampler stopped`));
      else if (timeout.aborted) reject(new DeadlineExceededError(`GET ${url} took more than ${limits.timeoutMs} ms`));
      else reject(new UnavailableError(`GET ${url} failed: ${error.message}`));
    });
    exchange.end();
  });
}
