/**
 * The one catalogue of PCG error codes. Every code has an HTTP status (REST API), a websocket
 * close code (tunnel) and a hint that tells the user what to do. proto/README.md lists the same
 * table; test/unit/error-catalogue.test.ts keeps the two equal.
 */
export interface ErrorSpec {
  readonly http: number;
  /** Websocket close code used when this error ends a tunnel connection. */
  readonly close: number;
  readonly hint: string;
}

export const ERROR_CATALOGUE = {
  PCG_ERR_BAD_REQUEST: { http: 400, close: 4400, hint: 'Fix the request as described and send it again.' },
  PCG_ERR_UNAUTHENTICATED: { http: 401, close: 4401, hint: "Send a valid API key as 'Authorization: Bearer <key>'." },
  PCG_ERR_FORBIDDEN: { http: 403, close: 4403, hint: 'Your role does not allow this; ask a tenant admin.' },
  PCG_ERR_NOT_FOUND: { http: 404, close: 4404, hint: 'Check the id; it does not exist in your tenant.' },
  PCG_ERR_CONFLICT: { http: 409, close: 4409, hint: 'The object changed state; reload it and retry.' },
  PCG_ERR_PAIR_CODE_FORMAT: { http: 400, close: 4410, hint: 'A pairing code is 16 characters shown as XXXX-XXXX-XXXX-XXXX; copy it again from the portal.' },
  PCG_ERR_PAIR_CODE_INVALID: { http: 401, close: 4411, hint: 'The pairing code may be wrong, expired, used or locked; copy it again, or issue a new one in the portal.' },
  PCG_ERR_PAIR_CODE_EXPIRED: { http: 410, close: 4412, hint: 'The pairing code has expired; issue a new one in the portal.' },
  PCG_ERR_PAIR_CODE_USED: { http: 409, close: 4413, hint: 'The pairing code was already used; issue a new one in the portal.' },
  PCG_ERR_PAIR_CODE_LOCKED: { http: 423, close: 4414, hint: 'Too many wrong attempts locked this pairing code; issue a new one in the portal.' },
  PCG_ERR_PROTO_VERSION: { http: 426, close: 4426, hint: 'Gateway and relay share no protocol version; upgrade the older one.' },
  PCG_ERR_HANDSHAKE: { http: 401, close: 4001, hint: 'The session handshake failed authentication; re-pair the gateway if this persists.' },
  PCG_ERR_GATEWAY_UNKNOWN: { http: 401, close: 4002, hint: 'The relay does not know this gateway; pair it again with a new code.' },
  PCG_ERR_GATEWAY_REVOKED: { http: 403, close: 4003, hint: 'This gateway was revoked in the portal; create a new gateway and pair again.' },
  PCG_ERR_SESSION_SUPERSEDED: { http: 409, close: 4009, hint: 'A newer session of the same gateway took over; stop the duplicate gateway process.' },
  PCG_ERR_FRAME_INVALID: { http: 400, close: 4006, hint: 'The frame does not match its schema; the sender must be fixed.' },
  PCG_ERR_FRAME_AUTH: { http: 400, close: 4005, hint: 'A frame failed authentication (tampered, replayed or reordered); the connection is closed and will be re-established.' },
  PCG_ERR_FRAME_TOO_LARGE: { http: 413, close: 1009, hint: 'The frame is larger than the allowed maximum; send smaller frames.' },
  PCG_ERR_RELAY_BUSY: { http: 503, close: 1013, hint: 'The relay is busy; retry after the indicated delay.' },
  PCG_ERR_HEARTBEAT_TIMEOUT: { http: 504, close: 4008, hint: 'No heartbeat arrived in time; the connection is closed and will be re-established.' },
  PCG_ERR_TLS_INTERCEPTED: { http: 502, close: 4015, hint: 'TLS interception detected: the relay certificate does not chain to the pinned CA. Exempt the relay host from TLS inspection (NO_PROXY or a proxy bypass rule).' },
  PCG_ERR_TLS_UNTRUSTED: { http: 502, close: 4016, hint: 'The relay certificate is not trusted; pass --ca-pin from the portal or --ca-file with the CA bundle.' },
  PCG_ERR_RELAY_UNREACHABLE: { http: 503, close: 4017, hint: 'Check the relay URL, DNS, firewall and HTTPS_PROXY settings; the gateway keeps retrying.' },
  PCG_ERR_CONFIG_INVALID: { http: 400, close: 4018, hint: 'Fix the named configuration key (file, PCG_* environment variable or flag).' },
  PCG_ERR_NOT_PAIRED: { http: 409, close: 4019, hint: "Run 'pcg-gateway pair' with a code from the portal first." },
  PCG_ERR_ALREADY_PAIRED: { http: 409, close: 4020, hint: 'This state dir already holds a paired gateway; use a new state dir or remove the old one on purpose.' },
  PCG_ERR_STATE_DIR: { http: 500, close: 4021, hint: 'Make the state dir writable by the gateway user and only by it.' },
  PCG_ERR_CERT_RENEW: { http: 400, close: 4022, hint: 'The certificate renewal request was refused; the gateway retries at its next heartbeat.' },
  PCG_ERR_VCENTER_UNREACHABLE: { http: 502, close: 4030, hint: 'Check the vCenter address, DNS and firewall from the gateway.' },
  PCG_ERR_VCENTER_TLS: { http: 502, close: 4031, hint: "vCenter's certificate does not match; check vcenter.thumbprint (or vcenter.caFile) against the vCenter you expect." },
  PCG_ERR_VCENTER_LOGIN: { http: 401, close: 4032, hint: 'vCenter refused the user or password; fix vcenter.user or the password file (the gateway does not retry, to spare directory lockouts).' },
  PCG_ERR_VCENTER_PERMISSION: { http: 403, close: 4033, hint: 'The vCenter user lacks a privilege; grant the named privilege to its role.' },
  PCG_ERR_VCENTER_FAULT: { http: 502, close: 4034, hint: 'vCenter reported a fault; the message carries its type and text.' },
  PCG_ERR_VCENTER_TASK_TIMEOUT: { http: 504, close: 4035, hint: 'The vCenter task did not finish in time and may still be running; check it under Recent Tasks in the vSphere Client before you retry.' },
  PCG_ERR_VCENTER_TASK_CANCELLED: { http: 409, close: 4036, hint: 'Waiting for the vCenter task was cancelled (job cancelled or gateway stopping); the task may still run, check Recent Tasks in the vSphere Client.' },
  PCG_ERR_GATEWAY_OFFLINE: { http: 503, close: 4040, hint: 'The gateway has no tunnel to this relay right now; check it with pcg-gateway status on the gateway VM.' },
  PCG_ERR_GATEWAY_TIMEOUT: { http: 504, close: 4041, hint: 'The gateway did not answer in time; vCenter may be slow or unreachable from it, retry later.' },
  PCG_ERR_VCENTER_NOT_CONFIGURED: { http: 409, close: 4042, hint: 'The gateway has no vCenter connection; set vcenter.host, vcenter.user and vcenter.passwordFile on it.' },
  PCG_ERR_TUNNEL_CLOSED: { http: 503, close: 4043, hint: 'The tunnel closed before the frame could be sent; the work is retried on the next connection.' },
  PCG_ERR_VALUES_INVALID: { http: 400, close: 4050, hint: 'The pack values are not valid YAML; fix the line named and send it again.' },
  PCG_ERR_PLACEMENT_UNKNOWN: { http: 422, close: 4051, hint: "A placement name does not exist in vCenter; pick it from the cloud account's inventory." },
  PCG_ERR_TEMPLATE_INVALID: { http: 422, close: 4052, hint: 'The OS layer must name a VM template, not a VM; mark the VM as a template in vCenter or pick another.' },
  PCG_ERR_IP_POOL_EXHAUSTED: { http: 409, close: 4053, hint: 'The IP pool has too few free addresses for this request; grow the pool or ask for fewer nodes.' },
  PCG_ERR_CLUSTER_BUSY: { http: 409, close: 4054, hint: 'Another job of this cluster has not finished; wait for it or cancel it, then retry.' },
  PCG_ERR_NODE_TIMEOUT: { http: 504, close: 4055, hint: "A node never reported ready; check its console for cloud-init errors and that it reaches the gateway's HTTPS port." },
  PCG_ERR_JOB_CANCELLED: { http: 409, close: 4056, hint: 'The job was cancelled; start a new one when ready.' },
  PCG_ERR_STALE_EPOCH: { http: 409, close: 4057, hint: 'This came over a superseded session and was not trusted; the current session reports it again.' },
  PCG_ERR_NODE_TOKEN: { http: 401, close: 4058, hint: 'The node token is unknown or spent; a node must use the token from its own userdata.' },
  PCG_ERR_NETWORK_UNSUPPORTED: { http: 422, close: 4059, hint: 'The placement network cannot back a node NIC (an opaque NSX network); pick a standard or distributed portgroup.' },
  PCG_ERR_PACK_ARCHIVE: { http: 400, close: 4060, hint: 'The pack archive is unsafe or damaged (the entry named); rebuild it with packctl build.' },
  PCG_ERR_PACK_TOO_LARGE: { http: 413, close: 4061, hint: 'The pack exceeds a size limit (entries, expanded bytes or compression ratio); make it smaller or split it.' },
  PCG_ERR_PACK_INVALID: { http: 422, close: 4062, hint: 'The pack content breaks a rule of the pack format; fix the file and field named and build it again.' },
  PCG_ERR_PACK_MISMATCH: { http: 422, close: 4063, hint: 'The pack.json name or version differs from the one expected; upload it under its own name and version.' },
  PCG_ERR_PACK_TAG_RESERVED: { http: 409, close: 4064, hint: 'Version tags and parent tags (14.x, 14.4.x) are kept by the registry; tag a label (group__label) instead, or delete the version.' },
  PCG_ERR_REGISTRY_UNREACHABLE: { http: 503, close: 4065, hint: 'Check the registry address, that it is running, and DNS, firewall and HTTPS_PROXY settings.' },
  PCG_ERR_PROFILE_PACK: { http: 422, close: 4070, hint: 'A profile layer names a pack its registry does not hold in that version, or a pack of another layer; pick one for that slot from GET /v1/packs?source=public.' },
  PCG_ERR_PACK_DEPENDENCY: { http: 422, close: 4071, hint: "The profile breaks a pack's constraints.dependencies; add the required pack in a version the message names, or remove the pack that is not supported with the other." },
  PCG_ERR_REGISTRY_LOCKED: { http: 409, close: 4072, hint: 'Another process owns this registry folder (pid named); stop it, or give other relays --no-registry. Delete the lock file only if that process is gone.' },
  PCG_ERR_RATE_LIMITED: { http: 429, close: 4429, hint: 'Too many failed or unauthenticated attempts from this address; wait for the time given (Retry-After) and try again.' },
  PCG_ERR_SETUP_TOKEN: { http: 401, close: 4080, hint: "Enter the setup token shown on the installer VM's console (or the one given in the pcg.setupToken vApp property)." },
  PCG_ERR_SETUP_COMPLETE: { http: 409, close: 4081, hint: "Setup is complete and its token spent; this page now shows the gateway's status. To start over, deploy a new appliance." },
  PCG_ERR_DNS_UNRESOLVED: { http: 502, close: 4082, hint: 'The name does not resolve from the appliance; check its DNS servers (pcg.dns or DHCP) or enter an IP address.' },
  PCG_ERR_PROXY_UNREACHABLE: { http: 502, close: 4083, hint: "The proxy did not answer or refused CONNECT to the relay; check the proxy address and port and that it allows the relay's host and port." },
  PCG_ERR_NETWORK_INVALID: { http: 400, close: 4084, hint: 'Fix the named network setting: dotted IPv4 addresses, a prefix from 1 to 32, a gateway inside the subnet that differs from the address.' },
  PCG_ERR_NTP_UNREACHABLE: { http: 502, close: 4085, hint: 'The NTP server did not answer; check its address and that UDP port 123 is open from the appliance.' },
  PCG_ERR_CLOCK_SKEW: { http: 400, close: 4086, hint: "The appliance clock differs from the relay's by more than allowed; set an NTP server the appliance can reach and check again." },
  PCG_ERR_OVA_INVALID: { http: 400, close: 4087, hint: 'The OVA is damaged or altered (the file named); download it again from the portal.' },
  PCG_ERR_REGISTRY_NOT_HOSTED: { http: 501, close: 4088, hint: 'This relay runs without the public pack registry (--no-registry); ask the relay that hosts it, or list a gateway with source=gateway:<id>.' },
  PCG_ERR_INTERNAL: { http: 500, close: 1011, hint: 'An internal error occurred; check the relay logs with the request id.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** Base class of every error a user acts on; `code` is stable, `message` says what to do. */
export class PcgError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const spec = ERROR_CATALOGUE[code];
    super(detail ? `${detail}. ${spec.hint}` : spec.hint, options);
    this.name = 'PcgError';
    this.code = code;
    this.detail = detail;
  }

  /**
   * `err` itself when it already is a PcgError (its code is the more precise one), else a new
   * PcgError with `code` and `detail` that keeps `err` as its cause.
   */
  static wrap(err: unknown, code: ErrorCode, detail?: string): PcgError {
    if (err instanceof PcgError) return err;
    return new PcgError(code, detail ?? (err instanceof Error ? err.message : String(err)), { cause: err });
  }

  /** Rebuilds an error received from the peer (reject message, error frame) with its message as sent. */
  static fromRemote(code: ErrorCode, message: string): PcgError {
    const error = new PcgError(code);
    error.message = message;
    return error;
  }

  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }

  get closeCode(): number {
    return ERROR_CATALOGUE[this.code].close;
  }

  /** `CODE: message`, the form CLIs print on stderr. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** The error code carried by a websocket close code, if it is one of ours. */
export function codeForClose(close: number): ErrorCode | undefined {
  for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
    if (spec.close === close) return code as ErrorCode;
  }
  return undefined;
}

/** PCG_ERR_RELAY_BUSY with the relay's retry-after hint (admission control). */
export class RelayBusyError extends PcgError {
  constructor(readonly retryAfterMs: number, message: string) {
    super('PCG_ERR_RELAY_BUSY');
    this.message = message;
  }
}
