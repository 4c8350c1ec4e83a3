// Tunables of the controller runtime, with their defaults and why.

export interface RuntimeConfig {
  /** Send an echo request to each switch this often (ms). */
  echoIntervalMs: number;
  /**
   * Drop a switch after this many echo intervals in a row without any message from it (an echo reply or
   * anything else: a busy switch proves it is alive by talking). Detection takes misses x interval.
   */
  echoMisses: number;
  /** The whole handshake (hello .. barrier) must finish within this time (ms). */
  handshakeTimeoutMs: number;
  /** Default time a request() or barrier() waits for its reply (ms). */
  requestTimeoutMs: number;
  /**
   * miss_send_len sent in SET_CONFIG. Default 0xffff (OFPCML_NO_BUFFER): the switch sends whole packets
   * and keeps no buffers for us. Buffer ids are per physical switch and die with a switch, which is
   * exactly what live migration must not depend on; apps' table-miss rules choose their own max_len.
   */
  missSendLen: number;
  /** Largest message accepted from a switch (bytes; OpenFlow's length field caps it at 65535). */
  maxMessageSize: number;
  /** Pause reading from a switch when more than this many bytes wait to be sent to it. */
  writeHighWaterBytes: number;
  /** Close a switch's session when more than this many bytes wait to be sent to it. */
  writeHardLimitBytes: number;
  /**
   * How many fire-and-forget commands per switch are remembered (by xid) so an error can be reported
   * with the command it answers (a power of two). Entries go when a barrier reply confirms them or when
   * the slot is reused.
   */
  errorMemory: number;
  /** Largest reassembled multipart reply (bytes) before the request is failed. */
  multipartMaxBytes: number;
}

export const DEFAULT_RUNTIME_CONFIG: Readonly<RuntimeConfig> = Object.freeze({
  echoIntervalMs: 5000,
  echoMisses: 3,
  handshakeTimeoutMs: 15000,
  requestTimeoutMs: 15000,
  missSendLen: 0xffff,
  maxMessageSize: 65535,
  writeHighWaterBytes: 1 << 20,
  writeHardLimitBytes: 64 << 20,
  errorMemory: 1024,
  multipartMaxBytes: 256 << 20,
});

export function resolveRuntimeConfig(partial: Partial<RuntimeConfig> = {}): RuntimeConfig {
  const c: RuntimeConfig = { ...DEFAULT_RUNTIME_CONFIG };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  }
  const positive: (keyof RuntimeConfig)[] = [
    'echoIntervalMs',
    'echoMisses',
    'handshakeTimeoutMs',
    'requestTimeoutMs',
    'maxMessageSize',
    'writeHighWaterBytes',
    'writeHardLimitBytes',
    'errorMemory',
    'multipartMaxBytes',
  ];
  for (const k of positive) {
    const v = c[k];
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`runtime option ${k} must be > 0 (got ${v})`);
  }
  if (!Number.isInteger(c.echoMisses)) throw new RangeError('echoMisses must be an integer');
  if (c.missSendLen < 0 || c.missSendLen > 0xffff) throw new RangeError('missSendLen must be 0..65535');
  if (c.writeHardLimitBytes < c.writeHighWaterBytes) {
    throw new RangeError('writeHardLimitBytes must be >= writeHighWaterBytes');
  }
  // Round the error memory up to a power of two (the ring is indexed by xid & mask).
  let n = 1;
  while (n < c.errorMemory) n <<= 1;
  c.errorMemory = n;
  return c;
}
