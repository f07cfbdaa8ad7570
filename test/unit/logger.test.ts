import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/index.js';

const at = () => new Date('2026-12-02T10:00:00.000Z');

describe('createLogger', () => {
  it('writes JSON lines with time, level, name, message and details, credentials removed', () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', name: 'procstate worker w1', write: (line) => lines.push(line), now: at });
    logger.warn('cannot reach mongodb://alice:s3cret@db:27017/nomad', { uri: 'redis://:pw@cache:6379', error: new TypeError('bad') });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0] as string)).toEqual({
      time: '2026-12-02T10:00:00.000Z',
      level: 'warn',
      name: 'procstate worker w1',
      msg: 'cannot reach mongodb://***@db:27017/nomad',
      uri: 'redis://***@cache:6379',
      error: 'TypeError: bad',
    });
  });

  it('drops lines below its level, and writes text lines by default', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', write: (line) => lines.push(line), now: at });
    logger.debug('no');
    logger.info('no');
    logger.warn('yes', { n: 1 });
    logger.error('also');
    expect(lines).toEqual(['2026-12-02T10:00:00.000Z procstate warn yes {"n":1}\n', '2026-12-02T10:00:00.000Z procstate error also\n']);
  });
});
