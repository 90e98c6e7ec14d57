import { defaultPaxosSettings } from '@bulwark/paxos';
import { checkMessageBounds } from './message-bounds';

describe('checkMessageBounds', () => {
  it('accepts the default settings', () => {
    expect(() => checkMessageBounds(defaultPaxosSettings)).not.toThrow();
  });

  it('refuses an Accept bound that a peer batch cannot carry, naming the setting', () => {
    expect(() => checkMessageBounds({ ...defaultPaxosSettings, batchBytesMax: 16 * 1024 * 1024 })).toThrow(
      /^batchBytesMax: /,
    );
  });
});
