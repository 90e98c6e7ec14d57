import { InvalidArgumentError } from '@bulwark/errors';
import { defaultPhiAccrualSettings, resolveSettings, type PhiAccrualSettings } from './settings';

function problem(overrides: Partial<PhiAccrualSettings>): { field: string | undefined; message: string } {
  try {
    resolveSettings(overrides);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    const invalid = error as InvalidArgumentError;
    return { field: invalid.details.field, message: invalid.message };
  }
  throw new Error('expected an InvalidArgumentError');
}

describe('resolveSettings', () => {
  it('fills in the defaults and freezes the result', () => {
    const settings = resolveSettings({ downPhi: 10 });
    expect(settings).toEqual({ ...defaultPhiAccrualSettings, downPhi: 10 });
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it.each<[Partial<PhiAccrualSettings>, string]>([
    [{ sampleWindowSize: 1.5 }, 'sampleWindowSize: must be an integer, got 1.5'],
    [{ sampleWindowSize: 1 }, 'sampleWindowSize: must be at least 2 and at most 10000, got 1'],
    [{ sampleWindowSize: 10_001 }, 'sampleWindowSize: must be at least 2 and at most 10000, got 10001'],
    [{ minStdDeviationMs: 0 }, 'minStdDeviationMs: must be above 0 and at most 3600000, got 0'],
    [{ acceptableHeartbeatPauseMs: -1 }, 'acceptableHeartbeatPauseMs: must be at least 0 and at most 3600000, got -1'],
    [
      { firstHeartbeatEstimateMs: Number.NaN },
      'firstHeartbeatEstimateMs: must be above 0 and at most 3600000, got NaN',
    ],
    [{ downPhi: 301 }, 'downPhi: must be above 0 and at most 300, got 301'],
    [{ suspectPhi: 8 }, 'suspectPhi: must be above 0 and below downPhi (8), got 8'],
    [{ recoverPhi: 3 }, 'recoverPhi: must be above 0 and below suspectPhi (3), got 3'],
    [{ recoverPhi: -1 }, 'recoverPhi: must be above 0 and below suspectPhi (3), got -1'],
  ])('names the bad setting in %j', (overrides, message) => {
    const found = problem(overrides);
    expect(found.message).toBe(message);
    expect(found.field).toBe(message.slice(0, message.indexOf(':')));
  });
});
