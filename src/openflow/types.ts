// OpenFlow 1.3 (wire version 0x04) messages as typed values.
//
// Conventions:
// - Every message has a `type` discriminant (camelCase of the OFPT_ name) and an `xid`.
// - 64-bit fields are bigint; everything else that fits is number. Byte payloads are Uint8Array.
// - Lengths and padding are not stored: they are computed on encode (padding is written as zeros).
// - MAC addresses are "aa:bb:cc:dd:ee:ff" strings, IPv4/IPv6 addresses are text ("10.0.0.1", "fe80::1").
// - Anything the codec does not understand (message type, TLV, action, property) decodes to an
//   `unknown`/`experimenter` value that keeps its bytes and re-encodes byte for byte.

export const OFP_VERSION = 0x04;

// ---------------------------------------------------------------- OXM match

/** OXM basic-class (0x8000) fields whose value is an unsigned integer of up to 32 bits. */
export type NumericOxmName =
  | 'in_port'
  | 'in_phy_port'
  | 'eth_type'
  | 'vlan_vid'
  | 'vlan_pcp'
  | 'ip_dscp'
  | 'ip_ecn'
  | 'ip_proto'
  | 'tcp_src'
  | 'tcp_dst'
  | 'udp_src'
  | 'udp_dst'
  | 'sctp_src'
  | 'sctp_dst'
  | 'icmpv4_type'
  | 'icmpv4_code'
  | 'arp_op'
  | 'ipv6_flabel'
  | 'icmpv6_type'
  | 'icmpv6_code'
  | 'mpls_label'
  | 'mpls_tc'
  | 'mpls_bos'
  | 'pbb_isid'
  | 'ipv6_exthdr';
/** OXM basic-class fields with 64-bit values. */
export type BigOxmName = 'metadata' | 'tunnel_id';
/** OXM basic-class fields holding a MAC address. */
export type MacOxmName = 'eth_dst' | 'eth_src' | 'arp_sha' | 'arp_tha' | 'ipv6_nd_sll' | 'ipv6_nd_tll';
/** OXM basic-class fields holding an IPv4 address. */
export type Ipv4OxmName = 'ipv4_src' | 'ipv4_dst' | 'arp_spa' | 'arp_tpa';
/** OXM basic-class fields holding an IPv6 address. */
export type Ipv6OxmName = 'ipv6_src' | 'ipv6_dst' | 'ipv6_nd_target';
export type OxmName = NumericOxmName | BigOxmName | MacOxmName | Ipv4OxmName | Ipv6OxmName;

/** One OXM TLV. `mask` is absent when the field is not masked. */
export type OxmField =
  | { field: NumericOxmName; value: number; mask?: number }
  | { field: BigOxmName; value: bigint; mask?: bigint }
  | { field: MacOxmName; value: string; mask?: string }
  | { field: Ipv4OxmName; value: string; mask?: string }
  | { field: Ipv6OxmName; value: string; mask?: string }
  /** A TLV of another class (e.g. experimenter / Nicira) or an unknown basic field: kept as raw bytes. */
  | { field: 'unknown'; oxmClass: number; oxmField: number; hasMask: boolean; data: Uint8Array };

/** ofp_match of type OFPMT_OXM. An empty list matches everything. */
export interface Match {
  fields: OxmField[];
}

/** An OXM header without a value, as listed in table-features properties (ofp_oxm_header). */
export interface OxmId {
  oxmClass: number;
  oxmField: number;
  hasMask: boolean;
  length: number;
  /** Present for experimenter-class ids (class 0xffff). */
  experimenter?: number;
}

// ---------------------------------------------------------------- actions

export type Action =
  | { type: 'output'; port: number; maxLen: number }
  | { type: 'copyTtlOut' }
  | { type: 'copyTtlIn' }
  | { type: 'setMplsTtl'; ttl: number }
  | { type: 'decMplsTtl' }
  | { type: 'pushVlan'; ethertype: number }
  | { type: 'popVlan' }
  | { type: 'pushMpls'; ethertype: number }
  | { type: 'popMpls'; ethertype: number }
  | { type: 'setQueue'; queueId: number }
  | { type: 'group'; groupId: number }
  | { type: 'setNwTtl'; ttl: number }
  | { type: 'decNwTtl' }
  | { type: 'setField'; field: OxmField }
  | { type: 'pushPbb'; ethertype: number }
  | { type: 'popPbb' }
  /** OFPAT_EXPERIMENTER (e.g. Nicira actions): `data` is everything after the experimenter id. */
  | { type: 'experimenter'; experimenter: number; data: Uint8Array }
  /** An action type this codec does not know: `data` is everything after the 4-byte type/len header. */
  | { type: 'unknown'; actionType: number; data: Uint8Array };

export type ActionType = Action['type'];

/** An action header without a body, as listed in table-features properties. */
export type ActionId = { actionType: number; experimenter?: number; data?: Uint8Array };

// ---------------------------------------------------------------- instructions

export type Instruction =
  | { type: 'gotoTable'; tableId: number }
  | { type: 'writeMetadata'; metadata: bigint; metadataMask: bigint }
  | { type: 'writeActions'; actions: Action[] }
  | { type: 'applyActions'; actions: Action[] }
  | { type: 'clearActions' }
  | { type: 'meter'; meterId: number }
  | { type: 'experimenter'; experimenter: number; data: Uint8Array }
  | { type: 'unknown'; instructionType: number; data: Uint8Array };

/** An instruction header without a body, as listed in table-features properties. */
export type InstructionId = { instructionType: number; experimenter?: number; data?: Uint8Array };

// ---------------------------------------------------------------- common structures

/** ofp_port */
export interface Port {
  portNo: number;
  hwAddr: string;
  name: string;
  config: number;
  state: number;
  curr: number;
  advertised: number;
  supported: number;
  peer: number;
  currSpeed: number;
  maxSpeed: number;
}

/** ofp_bucket */
export interface Bucket {
  weight: number;
  watchPort: number;
  watchGroup: number;
  actions: Action[];
}

export type MeterBand =
  | { type: 'drop'; rate: number; burstSize: number }
  | { type: 'dscpRemark'; rate: number; burstSize: number; precLevel: number }
  | { type: 'experimenter'; rate: number; burstSize: number; experimenter: number; data: Uint8Array }
  | { type: 'unknown'; bandType: number; rate: number; burstSize: number; data: Uint8Array };

export type QueueProperty =
  | { type: 'minRate'; rate: number }
  | { type: 'maxRate'; rate: number }
  | { type: 'experimenter'; experimenter: number; data: Uint8Array }
  | { type: 'unknown'; propertyType: number; data: Uint8Array };

/** ofp_packet_queue */
export interface PacketQueue {
  queueId: number;
  port: number;
  properties: QueueProperty[];
}

export type HelloElement =
  /** Bitmaps as 32-bit words: bit n of word i set means version 32*i+n is supported. */
  { type: 'versionBitmap'; bitmaps: number[] } | { type: 'unknown'; elementType: number; data: Uint8Array };

/** Async configuration masks: [master/equal, slave] for each kind. */
export interface AsyncConfig {
  packetInMask: [number, number];
  portStatusMask: [number, number];
  flowRemovedMask: [number, number];
}

// ---------------------------------------------------------------- multipart bodies

export interface FlowStatsRequestBody {
  tableId: number;
  outPort: number;
  outGroup: number;
  cookie: bigint;
  cookieMask: bigint;
  match: Match;
}

export type MultipartRequestBody =
  | { kind: 'desc' }
  | ({ kind: 'flow' } & FlowStatsRequestBody)
  | ({ kind: 'aggregate' } & FlowStatsRequestBody)
  | { kind: 'table' }
  | { kind: 'portStats'; portNo: number }
  | { kind: 'queue'; portNo: number; queueId: number }
  | { kind: 'group'; groupId: number }
  | { kind: 'groupDesc' }
  | { kind: 'groupFeatures' }
  | { kind: 'meter'; meterId: number }
  | { kind: 'meterConfig'; meterId: number }
  | { kind: 'meterFeatures' }
  | { kind: 'tableFeatures'; features: TableFeatures[] }
  | { kind: 'portDesc' }
  | { kind: 'experimenter'; experimenter: number; expType: number; data: Uint8Array }
  | { kind: 'unknown'; multipartType: number; data: Uint8Array };

/** ofp_flow_stats */
export interface FlowStats {
  tableId: number;
  durationSec: number;
  durationNsec: number;
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  cookie: bigint;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
  instructions: Instruction[];
}

/** ofp_table_stats */
export interface TableStats {
  tableId: number;
  activeCount: number;
  lookupCount: bigint;
  matchedCount: bigint;
}

/** ofp_port_stats */
export interface PortStats {
  portNo: number;
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxFrameErr: bigint;
  rxOverErr: bigint;
  rxCrcErr: bigint;
  collisions: bigint;
  durationSec: number;
  durationNsec: number;
}

/** ofp_queue_stats */
export interface QueueStats {
  portNo: number;
  queueId: number;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  durationSec: number;
  durationNsec: number;
}

/** ofp_group_stats */
export interface GroupStats {
  groupId: number;
  refCount: number;
  packetCount: bigint;
  byteCount: bigint;
  durationSec: number;
  durationNsec: number;
  bucketStats: { packetCount: bigint; byteCount: bigint }[];
}

/** ofp_group_desc */
export interface GroupDesc {
  groupType: number;
  groupId: number;
  buckets: Bucket[];
}

/** ofp_group_features */
export interface GroupFeatures {
  types: number;
  capabilities: number;
  maxGroups: [number, number, number, number];
  actions: [number, number, number, number];
}

/** ofp_meter_stats */
export interface MeterStats {
  meterId: number;
  flowCount: number;
  packetInCount: bigint;
  byteInCount: bigint;
  durationSec: number;
  durationNsec: number;
  bandStats: { packetBandCount: bigint; byteBandCount: bigint }[];
}

/** ofp_meter_config */
export interface MeterConfig {
  flags: number;
  meterId: number;
  bands: MeterBand[];
}

/** ofp_meter_features */
export interface MeterFeatures {
  maxMeter: number;
  bandTypes: number;
  capabilities: number;
  maxBands: number;
  maxColor: number;
}

export type TableFeatureProperty =
  | { type: 'instructions' | 'instructionsMiss'; ids: InstructionId[] }
  | { type: 'nextTables' | 'nextTablesMiss'; tableIds: number[] }
  | {
      type: 'writeActions' | 'writeActionsMiss' | 'applyActions' | 'applyActionsMiss';
      ids: ActionId[];
    }
  | {
      type:
        | 'match'
        | 'wildcards'
        | 'writeSetfield'
        | 'writeSetfieldMiss'
        | 'applySetfield'
        | 'applySetfieldMiss';
      oxmIds: OxmId[];
    }
  | { type: 'experimenter' | 'experimenterMiss'; experimenter: number; expType: number; data: Uint8Array }
  | { type: 'unknown'; propertyType: number; data: Uint8Array };

/** ofp_table_features */
export interface TableFeatures {
  tableId: number;
  name: string;
  metadataMatch: bigint;
  metadataWrite: bigint;
  config: number;
  maxEntries: number;
  properties: TableFeatureProperty[];
}

export type MultipartReplyBody =
  | {
      kind: 'desc';
      mfrDesc: string;
      hwDesc: string;
      swDesc: string;
      serialNum: string;
      dpDesc: string;
    }
  | { kind: 'flow'; stats: FlowStats[] }
  | { kind: 'aggregate'; packetCount: bigint; byteCount: bigint; flowCount: number }
  | { kind: 'table'; stats: TableStats[] }
  | { kind: 'portStats'; stats: PortStats[] }
  | { kind: 'queue'; stats: QueueStats[] }
  | { kind: 'group'; stats: GroupStats[] }
  | { kind: 'groupDesc'; groups: GroupDesc[] }
  | ({ kind: 'groupFeatures' } & GroupFeatures)
  | { kind: 'meter'; stats: MeterStats[] }
  | { kind: 'meterConfig'; configs: MeterConfig[] }
  | ({ kind: 'meterFeatures' } & MeterFeatures)
  | { kind: 'tableFeatures'; features: TableFeatures[] }
  | { kind: 'portDesc'; ports: Port[] }
  | { kind: 'experimenter'; experimenter: number; expType: number; data: Uint8Array }
  | { kind: 'unknown'; multipartType: number; data: Uint8Array };

export type MultipartKind = MultipartRequestBody['kind'];

// ---------------------------------------------------------------- messages

export interface Hello {
  type: 'hello';
  /** Header version: a switch may offer a version other than 1.3 here. */
  version: number;
  xid: number;
  elements: HelloElement[];
}
export interface ErrorMsg {
  type: 'error';
  xid: number;
  errorType: number;
  code: number;
  /** Usually the start of the offending request (at least 64 bytes of it). */
  data: Uint8Array;
}
/** OFPET_EXPERIMENTER form of an error (errorType 0xffff on the wire). */
export interface ErrorExperimenterMsg {
  type: 'errorExperimenter';
  xid: number;
  expType: number;
  experimenter: number;
  data: Uint8Array;
}
export interface EchoRequest {
  type: 'echoRequest';
  xid: number;
  data: Uint8Array;
}
export interface EchoReply {
  type: 'echoReply';
  xid: number;
  data: Uint8Array;
}
export interface ExperimenterMsg {
  type: 'experimenter';
  xid: number;
  experimenter: number;
  expType: number;
  data: Uint8Array;
}
export interface FeaturesRequest {
  type: 'featuresRequest';
  xid: number;
}
export interface FeaturesReply {
  type: 'featuresReply';
  xid: number;
  datapathId: bigint;
  nBuffers: number;
  nTables: number;
  auxiliaryId: number;
  capabilities: number;
  reserved: number;
}
export interface GetConfigRequest {
  type: 'getConfigRequest';
  xid: number;
}
export interface GetConfigReply {
  type: 'getConfigReply';
  xid: number;
  flags: number;
  missSendLen: number;
}
export interface SetConfig {
  type: 'setConfig';
  xid: number;
  flags: number;
  missSendLen: number;
}
export interface PacketIn {
  type: 'packetIn';
  xid: number;
  bufferId: number;
  totalLen: number;
  reason: number;
  tableId: number;
  cookie: bigint;
  match: Match;
  data: Uint8Array;
}
export interface FlowRemoved {
  type: 'flowRemoved';
  xid: number;
  cookie: bigint;
  priority: number;
  reason: number;
  tableId: number;
  durationSec: number;
  durationNsec: number;
  idleTimeout: number;
  hardTimeout: number;
  packetCount: bigint;
  byteCount: bigint;
  match: Match;
}
export interface PortStatus {
  type: 'portStatus';
  xid: number;
  reason: number;
  port: Port;
}
export interface PacketOut {
  type: 'packetOut';
  xid: number;
  bufferId: number;
  inPort: number;
  actions: Action[];
  data: Uint8Array;
}
export interface FlowMod {
  type: 'flowMod';
  xid: number;
  cookie: bigint;
  cookieMask: bigint;
  tableId: number;
  command: number;
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  bufferId: number;
  outPort: number;
  outGroup: number;
  flags: number;
  match: Match;
  instructions: Instruction[];
}
export interface GroupMod {
  type: 'groupMod';
  xid: number;
  command: number;
  groupType: number;
  groupId: number;
  buckets: Bucket[];
}
export interface PortMod {
  type: 'portMod';
  xid: number;
  portNo: number;
  hwAddr: string;
  config: number;
  mask: number;
  advertise: number;
}
export interface TableMod {
  type: 'tableMod';
  xid: number;
  tableId: number;
  config: number;
}
export interface MultipartRequest {
  type: 'multipartRequest';
  xid: number;
  flags: number;
  body: MultipartRequestBody;
}
export interface MultipartReply {
  type: 'multipartReply';
  xid: number;
  flags: number;
  body: MultipartReplyBody;
}
export interface BarrierRequest {
  type: 'barrierRequest';
  xid: number;
}
export interface BarrierReply {
  type: 'barrierReply';
  xid: number;
}
export interface QueueGetConfigRequest {
  type: 'queueGetConfigRequest';
  xid: number;
  port: number;
}
export interface QueueGetConfigReply {
  type: 'queueGetConfigReply';
  xid: number;
  port: number;
  queues: PacketQueue[];
}
export interface RoleRequest {
  type: 'roleRequest';
  xid: number;
  role: number;
  generationId: bigint;
}
export interface RoleReply {
  type: 'roleReply';
  xid: number;
  role: number;
  generationId: bigint;
}
export interface GetAsyncRequest {
  type: 'getAsyncRequest';
  xid: number;
}
export interface GetAsyncReply extends AsyncConfig {
  type: 'getAsyncReply';
  xid: number;
}
export interface SetAsync extends AsyncConfig {
  type: 'setAsync';
  xid: number;
}
export interface MeterMod {
  type: 'meterMod';
  xid: number;
  command: number;
  flags: number;
  meterId: number;
  bands: MeterBand[];
}
/** A message whose type (or version) this codec does not know; re-encodes byte for byte. */
export interface UnknownMsg {
  type: 'unknown';
  version: number;
  msgType: number;
  xid: number;
  body: Uint8Array;
}

export type OfMessage =
  | Hello
  | ErrorMsg
  | ErrorExperimenterMsg
  | EchoRequest
  | EchoReply
  | ExperimenterMsg
  | FeaturesRequest
  | FeaturesReply
  | GetConfigRequest
  | GetConfigReply
  | SetConfig
  | PacketIn
  | FlowRemoved
  | PortStatus
  | PacketOut
  | FlowMod
  | GroupMod
  | PortMod
  | TableMod
  | MultipartRequest
  | MultipartReply
  | BarrierRequest
  | BarrierReply
  | QueueGetConfigRequest
  | QueueGetConfigReply
  | RoleRequest
  | RoleReply
  | GetAsyncRequest
  | GetAsyncReply
  | SetAsync
  | MeterMod
  | UnknownMsg;

export type MessageType = OfMessage['type'];
/** The message of a given type, e.g. MessageOf<'flowMod'> = FlowMod. */
export type MessageOf<T extends MessageType> = Extract<OfMessage, { type: T }>;
/** A message to be sent: xid is optional (the runtime assigns one). */
export type Outgoing<M extends OfMessage = OfMessage> = M extends OfMessage
  ? Omit<M, 'xid'> & { xid?: number }
  : never;
