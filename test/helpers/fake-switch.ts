// A minimal OpenFlow 1.3 "switch" on 127.0.0.1 for oracle tests: a controller-side tool such as
// `ovs-ofctl -O OpenFlow13 add-flow tcp:127.0.0.1:PORT ...` connects to it and sends its messages, which
// we decode with vnm's codec and record. It answers what such a tool waits for: hello, features,
// get-config, barrier, echo, role, get-async, queue-config and multipart requests (empty lists, or the
// configured ports for port-desc); anything it cannot answer gets an OFPT_ERROR.

import { createServer, type Server, type Socket } from 'node:net';
import { OfDecodeError } from '../../src/openflow/buffer.ts';
import { ErrorType } from '../../src/openflow/constants.ts';
import { MessageFramer } from '../../src/openflow/framer.ts';
import { decodeMessage, encodeMessage } from '../../src/openflow/messages.ts';
import { messageToText } from '../../src/openflow/text.ts';
import type {
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  OxmId,
  Port,
  TableFeatureProperty,
} from '../../src/openflow/types.ts';

export interface Received {
  connection: number;
  message: OfMessage;
  bytes: Uint8Array;
}

export interface FakeSwitchOptions {
  datapathId?: bigint;
  ports?: Port[];
}

export function makePort(portNo: number, name: string): Port {
  return {
    portNo,
    hwAddr: `02:00:00:00:00:${portNo.toString(16).padStart(2, '0')}`,
    name,
    config: 0,
    state: 4,
    curr: 0x2808,
    advertised: 0x2808,
    supported: 0x2808,
    peer: 0,
    currSpeed: 10_000_000,
    maxSpeed: 10_000_000,
  };
}

const OXM_IDS: OxmId[] = [0, 3, 4, 5, 6, 11, 12].map((oxmField) => ({
  oxmClass: 0x8000,
  oxmField,
  hasMask: false,
  length: [4, 0, 0, 6, 6, 2, 2, 0, 0, 0, 0, 4, 4][oxmField] ?? 4,
}));

/** The eight properties ovs-ofctl requires in each table-features entry. */
export function tableProperties(tableId: number): TableFeatureProperty[] {
  const instructions = [1, 2, 3, 4, 5, 6].map((instructionType) => ({ instructionType }));
  const actions = [0, 17, 18, 22, 25].map((actionType) => ({ actionType }));
  return [
    { type: 'instructions', ids: instructions },
    { type: 'nextTables', tableIds: Array.from({ length: 7 - tableId }, (_, i) => tableId + 1 + i) },
    { type: 'writeActions', ids: actions },
    { type: 'applyActions', ids: actions },
    { type: 'match', oxmIds: OXM_IDS },
    { type: 'wildcards', oxmIds: OXM_IDS },
    { type: 'writeSetfield', oxmIds: OXM_IDS },
    { type: 'applySetfield', oxmIds: OXM_IDS },
  ];
}

export class FakeSwitch {
  readonly received: Received[] = [];
  /** One line per message in and out, for debugging a failing test. */
  readonly log: string[] = [];
  readonly decodeErrors: string[] = [];
  private connections = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly opts: FakeSwitchOptions,
  ) {}

  static async start(opts: FakeSwitchOptions = {}): Promise<FakeSwitch> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
    const sw = new FakeSwitch(server, addr.port, opts);
    server.on('connection', (s) => sw.handle(s));
    return sw;
  }

  get target(): string {
    return `tcp:127.0.0.1:${this.port}`;
  }

  /** Messages of one type received so far (all connections). */
  messagesOf<T extends OfMessage['type']>(type: T): Extract<OfMessage, { type: T }>[] {
    return this.received
      .map((r) => r.message)
      .filter((m): m is Extract<OfMessage, { type: T }> => m.type === type);
  }

  clear(): void {
    this.received.length = 0;
    this.log.length = 0;
    this.decodeErrors.length = 0;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(sock: Socket): void {
    const conn = ++this.connections;
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => {});
    const framer = new MessageFramer();
    const send = (m: OfMessage) => {
      this.log.push(`[${conn}] -> ${messageToText(m).split('\n')[0]}`);
      sock.write(encodeMessage(m));
    };
    send({ type: 'hello', version: 4, xid: 0, elements: [{ type: 'versionBitmap', bitmaps: [1 << 4] }] });
    sock.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = framer.push(chunk);
      } catch (e) {
        this.decodeErrors.push(`[${conn}] framing: ${(e as Error).message}`);
        sock.destroy();
        return;
      }
      for (const bytes of frames) {
        let m: OfMessage;
        try {
          m = decodeMessage(bytes);
        } catch (e) {
          const msg = e instanceof OfDecodeError ? e.message : String(e);
          this.decodeErrors.push(`[${conn}] ${msg} (${Buffer.from(bytes).toString('hex')})`);
          this.log.push(`[${conn}] <- UNDECODABLE ${msg}`);
          continue;
        }
        this.received.push({ connection: conn, message: m, bytes: new Uint8Array(bytes) });
        this.log.push(`[${conn}] <- ${messageToText(m).split('\n')[0]}`);
        const reply = this.answer(m);
        if (reply) send(reply);
      }
    });
  }

  private answer(m: OfMessage): OfMessage | undefined {
    const xid = m.xid;
    switch (m.type) {
      case 'featuresRequest':
        return {
          type: 'featuresReply',
          xid,
          datapathId: this.opts.datapathId ?? 0x1n,
          nBuffers: 0,
          nTables: 254,
          auxiliaryId: 0,
          capabilities: 0x4f,
          reserved: 0,
        };
      case 'getConfigRequest':
        return { type: 'getConfigReply', xid, flags: 0, missSendLen: 128 };
      case 'barrierRequest':
        return { type: 'barrierReply', xid };
      case 'echoRequest':
        return { type: 'echoReply', xid, data: m.data };
      case 'roleRequest':
        return { type: 'roleReply', xid, role: m.role, generationId: m.generationId };
      case 'getAsyncRequest':
        return {
          type: 'getAsyncReply',
          xid,
          packetInMask: [0, 0],
          portStatusMask: [0, 0],
          flowRemovedMask: [0, 0],
        };
      case 'queueGetConfigRequest':
        return { type: 'queueGetConfigReply', xid, port: m.port, queues: [] };
      case 'multipartRequest': {
        const body = this.multipartReply(m.body);
        if (body) return { type: 'multipartReply', xid, flags: 0, body };
        return {
          type: 'error',
          xid,
          errorType: ErrorType.BAD_REQUEST,
          code: 2,
          data: encodeMessage(m).subarray(0, 64),
        };
      }
      case 'experimenter':
        return {
          type: 'error',
          xid,
          errorType: ErrorType.BAD_REQUEST,
          code: 3,
          data: encodeMessage(m).subarray(0, 64),
        };
      case 'unknown':
        return { type: 'error', xid, errorType: ErrorType.BAD_REQUEST, code: 1, data: new Uint8Array() };
      default:
        return undefined;
    }
  }

  private multipartReply(b: MultipartRequestBody): MultipartReplyBody | undefined {
    switch (b.kind) {
      case 'desc':
        return {
          kind: 'desc',
          mfrDesc: 'vnm',
          hwDesc: 'fake switch',
          swDesc: 'vnm test',
          serialNum: '1',
          dpDesc: 'fake',
        };
      case 'flow':
        return { kind: 'flow', stats: [] };
      case 'aggregate':
        return { kind: 'aggregate', packetCount: 0n, byteCount: 0n, flowCount: 0 };
      case 'table':
        return { kind: 'table', stats: [] };
      case 'portStats':
        return { kind: 'portStats', stats: [] };
      case 'queue':
        return { kind: 'queue', stats: [] };
      case 'group':
        return { kind: 'group', stats: [] };
      case 'groupDesc':
        return { kind: 'groupDesc', groups: [] };
      case 'groupFeatures':
        return {
          kind: 'groupFeatures',
          types: 0xf,
          capabilities: 0,
          maxGroups: [0, 0, 0, 0],
          actions: [0, 0, 0, 0],
        };
      case 'meter':
        return { kind: 'meter', stats: [] };
      case 'meterConfig':
        return { kind: 'meterConfig', configs: [] };
      case 'meterFeatures':
        return {
          kind: 'meterFeatures',
          maxMeter: 0,
          bandTypes: 0,
          capabilities: 0,
          maxBands: 0,
          maxColor: 0,
        };
      case 'tableFeatures':
        // ovs-ofctl (3.x) asks for table features before a flow-mod and rejects an empty reply.
        return {
          kind: 'tableFeatures',
          features: Array.from({ length: 8 }, (_, tableId) => ({
            tableId,
            name: `table${tableId}`,
            metadataMatch: 0xffffffffffffffffn,
            metadataWrite: 0xffffffffffffffffn,
            config: 0,
            maxEntries: 1_000_000,
            properties: tableProperties(tableId),
          })),
        };
      case 'portDesc':
        return { kind: 'portDesc', ports: this.opts.ports ?? [] };
      default:
        return undefined;
    }
  }
}
