import { strict as assert } from 'node:assert';
import { PcgError } from '../../proto/errors.js';
import { loadGatewayConfig } from '../../gateway/config/gateway-config.js';

const invalid = (pattern: RegExp) => (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_CONFIG_INVALID' && pattern.test(err.message);

describe('gateway configuration: https.* and jobs.*', () => {
  it('has the documented defaults', () => {
    const config = loadGatewayConfig([], {});
    assert.deepEqual(config.https, { host: '0.0.0.0', port: 8443, publicUrl: null, certFile: null, keyFile: null });
    assert.deepEqual(config.jobs, { maxConcurrent: 4, driftCheckIntervalMs: 60_000, nodeReadyTimeoutMs: 900_000, cloneConcurrency: 8, retryLimit: 5, retryInitialMs: 5_000, retryMaxMs: 60_000 });
  });

  it('reads environment variables and arguments', () => {
    const config = loadGatewayConfig(['--https-port=0', '--jobs-max-concurrent=2'], {
      PCG_HTTPS_PUBLIC_URL: 'https://gw.example:9443', PCG_JOBS_DRIFT_CHECK_INTERVAL: '5s', PCG_JOBS_NODE_READY_TIMEOUT: '2m', PCG_HTTPS_HOST: '10.0.0.2',
    });
    assert.deepEqual(config.https, { host: '10.0.0.2', port: 0, publicUrl: 'https://gw.example:9443', certFile: null, keyFile: null });
    assert.deepEqual([config.jobs.maxConcurrent, config.jobs.driftCheckIntervalMs, config.jobs.nodeReadyTimeoutMs], [2, 5000, 120_000]);
  });

  it('names the key that is wrong', () => {
    assert.throws(() => loadGatewayConfig([], { PCG_JOBS_MAX_CONCURRENT: '0' }), invalid(/^jobs\.maxConcurrent: must be greater than 0/));
    assert.throws(() => loadGatewayConfig([], { PCG_HTTPS_PORT: '70000' }), invalid(/https\.port/));
    assert.throws(() => loadGatewayConfig([], { PCG_JOBS_NODE_READY_TIMEOUT: 'soon' }), invalid(/jobs\.nodeReadyTimeout/));
    assert.throws(() => loadGatewayConfig([], { PCG_HTTPS_CERT_FILE: '/x.pem' }), invalid(/^https\.certFile and https\.keyFile: set both or neither/));
    assert.throws(() => loadGatewayConfig([], { PCG_HTTPS_PUBLIC_URL: 'http://gw:80' }), invalid(/^https\.publicUrl/));
  });
});
