import { loadConfig, serviceSettings } from '@bulwark/config';
import { metricsListenAddress, reachableMetricsAddress } from './service-main';

const configWith = (env: NodeJS.ProcessEnv) => loadConfig(serviceSettings(7200), { BULWARK_MEMBER_ID: 'r1', ...env });

describe('metricsListenAddress', () => {
  it('defaults to the gRPC listener host with a free port, so services sharing a host never clash', () => {
    expect(metricsListenAddress(configWith({}))).toEqual({ host: '0.0.0.0', port: 0 });
    expect(metricsListenAddress(configWith({ BULWARK_LISTEN_ADDR: '127.77.0.5:7200' }))).toEqual({
      host: '127.77.0.5',
      port: 0,
    });
  });

  it('takes BULWARK_METRICS_ADDR as given, and nothing when it is off', () => {
    expect(metricsListenAddress(configWith({ BULWARK_METRICS_ADDR: '0.0.0.0:9464' }))).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
    expect(metricsListenAddress(configWith({ BULWARK_METRICS_ADDR: 'off' }))).toBeUndefined();
  });
});

describe('reachableMetricsAddress', () => {
  const advertised = { host: 'router-1', port: 7200 };

  it('names the advertised host for a listener on every interface', () => {
    expect(reachableMetricsAddress({ host: '0.0.0.0', port: 9464 }, advertised)).toBe('router-1:9464');
    expect(reachableMetricsAddress({ host: '[::]', port: 40001 }, advertised)).toBe('router-1:40001');
  });

  it('keeps a host that is one address', () => {
    expect(reachableMetricsAddress({ host: '127.77.0.5', port: 9464 }, advertised)).toBe('127.77.0.5:9464');
    expect(reachableMetricsAddress({ host: '[::1]', port: 9464 }, advertised)).toBe('[::1]:9464');
  });
});
