import { strict as assert } from 'node:assert';
import { normalizeRelayEndpoint } from '../../installer-ova/setup/relay-endpoint.js';
import { PcgError } from '../../proto/errors.js';

describe('installer: relay endpoint normalisation', () => {
  const accepted: Array<[string, string, string[]]> = [
    ['https://relay.example.com', 'https://relay.example.com', []],
    ['https://relay.example.com/', 'https://relay.example.com', ['removed the trailing slash']],
    ['https://relay.example.com///', 'https://relay.example.com', ['removed the trailing slash']],
    ['relay.example.com', 'https://relay.example.com', ['added https://']],
    ['relay.example.com:8443/', 'https://relay.example.com:8443', ['added https://', 'removed the trailing slash']],
    ['  https://Relay.Example.COM:443  ', 'https://relay.example.com', ['removed surrounding spaces']],
    ['wss://relay.example.com:8443/v1/tunnel', 'https://relay.example.com:8443', ['wss:// becomes https://', 'removed the tunnel path /v1/tunnel']],
    ['https://127.0.0.1:9443/', 'https://127.0.0.1:9443', ['removed the trailing slash']],
    ['https://[::1]:9443', 'https://[::1]:9443', []],
  ];
  for (const [input, url, changes] of accepted) {
    it(`"${input}" → ${url}`, () => {
      const endpoint = normalizeRelayEndpoint(input);
      assert.equal(endpoint.url, url);
      assert.deepEqual(endpoint.changes, changes);
    });
  }

  const refused: Array<[string, RegExp]> = [
    ['', /relayUrl: is empty/],
    ['http://relay.example.com', /relayUrl: the relay speaks https, not http/],
    ['https://relay.example.com/portal/gateways', /relayUrl: has a path "\/portal\/gateways"/],
    ['https://relay.example.com/?x=1', /relayUrl: must not carry a query or fragment \("\?x=1"\)/],
    ['https://user:pw@relay.example.com', /relayUrl: must not carry a user name or password/],
    ['https://exa mple.com', /relayUrl: "https:\/\/exa mple.com" is not a host name or URL/],
  ];
  for (const [input, message] of refused) {
    it(`refuses "${input}" with PCG_ERR_CONFIG_INVALID`, () => {
      assert.throws(() => normalizeRelayEndpoint(input), (err: unknown) => err instanceof PcgError && err.code === 'PCG_ERR_CONFIG_INVALID' && message.test(err.message));
    });
  }
});
