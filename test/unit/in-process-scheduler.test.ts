/**
 * The in-process scheduler's timers against the wall clock: timers run on the monotonic clock,
 * `schedule` takes a wall-clock time, and the two can disagree by a millisecond or more (rounding,
 * a clock slewed by NTP). A scheduled job is never handed over before its time by the wall clock.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InProcessScheduler } from '../../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('InProcessScheduler.schedule', () => {
  it('holds a job whose timer fired while the wall clock was still short of its time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const scheduler = new InProcessScheduler();
    const deliveredAt: number[] = [];
    await scheduler.start(async () => {
      deliveredAt.push(Date.now());
    });
    const at = Date.now() + 10_000;
    await scheduler.schedule({ type: 'timeout', kind: 'job', id: 'j1', runId: 'r1', limit: 'hard' }, new Date(at));
    // The wall clock falls 5 ms behind the timers' clock.
    vi.setSystemTime(at - 10_000 - 5);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(deliveredAt).toEqual([]);
    await vi.advanceTimersByTimeAsync(5);
    expect(deliveredAt).toEqual([at]);
    await scheduler.drain(0);
  });
});
