import { Writable } from 'node:stream';
import { createLogger } from './logging';

describe('createLogger', () => {
  it('writes one JSON object per line with service, member and level', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ service: 'router', memberId: 'router-1', level: 'info', destination });
    logger.info({ port: 7200 }, 'listening');
    logger.debug('hidden below info');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({ service: 'router', member: 'router-1', level: 'info', port: 7200, msg: 'listening' });
    expect(typeof line.time).toBe('string');
  });
});
