// OpenFlow 1.3 numeric constants (names follow the spec without the OFP prefix).

/** Message type numbers on the wire (ofp_type). */
export const MsgType = {
  HELLO: 0,
  ERROR: 1,
  ECHO_REQUEST: 2,
  ECHO_REPLY: 3,
  EXPERIMENTER: 4,
  FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6,
  GET_CONFIG_REQUEST: 7,
  GET_CONFIG_REPLY: 8,
  SET_CONFIG: 9,
  PACKET_IN: 10,
  FLOW_REMOVED: 11,
  PORT_STATUS: 12,
  PACKET_OUT: 13,
  FLOW_MOD: 14,
  GROUP_MOD: 15,
  PORT_MOD: 16,
  TABLE_MOD: 17,
  MULTIPART_REQUEST: 18,
  MULTIPART_REPLY: 19,
  BARRIER_REQUEST: 20,
  BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22,
  QUEUE_GET_CONFIG_REPLY: 23,
  ROLE_REQUEST: 24,
  ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26,
  GET_ASYNC_REPLY: 27,
  SET_ASYNC: 28,
  METER_MOD: 29,
} as const;

/** Reserved port numbers (ofp_port_no). */
export const Port = {
  MAX: 0xffffff00,
  IN_PORT: 0xfffffff8,
  TABLE: 0xfffffff9,
  NORMAL: 0xfffffffa,
  FLOOD: 0xfffffffb,
  ALL: 0xfffffffc,
  CONTROLLER: 0xfffffffd,
  LOCAL: 0xfffffffe,
  ANY: 0xffffffff,
} as const;

export const Group = { MAX: 0xffffff00, ALL: 0xfffffffc, ANY: 0xffffffff } as const;
export const Table = { MAX: 0xfe, ALL: 0xff } as const;
export const Meter = {
  MAX: 0xffff0000,
  SLOWPATH: 0xfffffffd,
  CONTROLLER: 0xfffffffe,
  ALL: 0xffffffff,
} as const;

/** OFP_NO_BUFFER: the packet is not buffered in the switch. */
export const NO_BUFFER = 0xffffffff;
/** OFPCML_NO_BUFFER: send the whole packet to the controller. */
export const CONTROLLER_MAX_LEN_NO_BUFFER = 0xffff;

export const FlowModCommand = { ADD: 0, MODIFY: 1, MODIFY_STRICT: 2, DELETE: 3, DELETE_STRICT: 4 } as const;
export const FlowModFlags = {
  SEND_FLOW_REM: 1 << 0,
  CHECK_OVERLAP: 1 << 1,
  RESET_COUNTS: 1 << 2,
  NO_PKT_COUNTS: 1 << 3,
  NO_BYT_COUNTS: 1 << 4,
} as const;

export const GroupModCommand = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const GroupType = { ALL: 0, SELECT: 1, INDIRECT: 2, FF: 3 } as const;
export const MeterModCommand = { ADD: 0, MODIFY: 1, DELETE: 2 } as const;
export const MeterFlags = { KBPS: 1 << 0, PKTPS: 1 << 1, BURST: 1 << 2, STATS: 1 << 3 } as const;

export const PacketInReason = { NO_MATCH: 0, ACTION: 1, INVALID_TTL: 2 } as const;
export const FlowRemovedReason = { IDLE_TIMEOUT: 0, HARD_TIMEOUT: 1, DELETE: 2, GROUP_DELETE: 3 } as const;
export const PortReason = { ADD: 0, DELETE: 1, MODIFY: 2 } as const;

/** ofp_port_config bits. */
export const PortConfig = {
  PORT_DOWN: 1 << 0,
  NO_RECV: 1 << 2,
  NO_FWD: 1 << 5,
  NO_PACKET_IN: 1 << 6,
} as const;
/** ofp_port_state bits. */
export const PortState = { LINK_DOWN: 1 << 0, BLOCKED: 1 << 1, LIVE: 1 << 2 } as const;

export const ConfigFlags = { FRAG_NORMAL: 0, FRAG_DROP: 1, FRAG_REASM: 2, FRAG_MASK: 3 } as const;

export const Capabilities = {
  FLOW_STATS: 1 << 0,
  TABLE_STATS: 1 << 1,
  PORT_STATS: 1 << 2,
  GROUP_STATS: 1 << 3,
  IP_REASM: 1 << 5,
  QUEUE_STATS: 1 << 6,
  PORT_BLOCKED: 1 << 8,
} as const;

export const ControllerRole = { NOCHANGE: 0, EQUAL: 1, MASTER: 2, SLAVE: 3 } as const;

export const MultipartType = {
  DESC: 0,
  FLOW: 1,
  AGGREGATE: 2,
  TABLE: 3,
  PORT_STATS: 4,
  QUEUE: 5,
  GROUP: 6,
  GROUP_DESC: 7,
  GROUP_FEATURES: 8,
  METER: 9,
  METER_CONFIG: 10,
  METER_FEATURES: 11,
  TABLE_FEATURES: 12,
  PORT_DESC: 13,
  EXPERIMENTER: 0xffff,
} as const;
/** ofp_multipart_request_flags / reply flags. */
export const MultipartFlags = { MORE: 1 } as const;

/** ofp_error_type */
export const ErrorType = {
  HELLO_FAILED: 0,
  BAD_REQUEST: 1,
  BAD_ACTION: 2,
  BAD_INSTRUCTION: 3,
  BAD_MATCH: 4,
  FLOW_MOD_FAILED: 5,
  GROUP_MOD_FAILED: 6,
  PORT_MOD_FAILED: 7,
  TABLE_MOD_FAILED: 8,
  QUEUE_OP_FAILED: 9,
  SWITCH_CONFIG_FAILED: 10,
  ROLE_REQUEST_FAILED: 11,
  METER_MOD_FAILED: 12,
  TABLE_FEATURES_FAILED: 13,
  EXPERIMENTER: 0xffff,
} as const;

export const HelloFailedCode = { INCOMPATIBLE: 0, EPERM: 1 } as const;
export const BadRequestCode = {
  BAD_VERSION: 0,
  BAD_TYPE: 1,
  BAD_MULTIPART: 2,
  BAD_EXPERIMENTER: 3,
  BAD_EXP_TYPE: 4,
  EPERM: 5,
  BAD_LEN: 6,
  BUFFER_EMPTY: 7,
  BUFFER_UNKNOWN: 8,
  BAD_TABLE_ID: 9,
  IS_SLAVE: 10,
  BAD_PORT: 11,
  BAD_PACKET: 12,
  MULTIPART_BUFFER_OVERFLOW: 13,
} as const;
export const RoleRequestFailedCode = { STALE: 0, UNSUP: 1, BAD_ROLE: 2 } as const;

/** Human-readable names of error types and codes, for logs and `vnm decode --text`. */
export const ERROR_NAMES: Record<number, { type: string; codes: string[] }> = {
  0: { type: 'HELLO_FAILED', codes: ['INCOMPATIBLE', 'EPERM'] },
  1: {
    type: 'BAD_REQUEST',
    codes: [
      'BAD_VERSION',
      'BAD_TYPE',
      'BAD_MULTIPART',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'EPERM',
      'BAD_LEN',
      'BUFFER_EMPTY',
      'BUFFER_UNKNOWN',
      'BAD_TABLE_ID',
      'IS_SLAVE',
      'BAD_PORT',
      'BAD_PACKET',
      'MULTIPART_BUFFER_OVERFLOW',
    ],
  },
  2: {
    type: 'BAD_ACTION',
    codes: [
      'BAD_TYPE',
      'BAD_LEN',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'BAD_OUT_PORT',
      'BAD_ARGUMENT',
      'EPERM',
      'TOO_MANY',
      'BAD_QUEUE',
      'BAD_OUT_GROUP',
      'MATCH_INCONSISTENT',
      'UNSUPPORTED_ORDER',
      'BAD_TAG',
      'BAD_SET_TYPE',
      'BAD_SET_LEN',
      'BAD_SET_ARGUMENT',
    ],
  },
  3: {
    type: 'BAD_INSTRUCTION',
    codes: [
      'UNKNOWN_INST',
      'UNSUP_INST',
      'BAD_TABLE_ID',
      'UNSUP_METADATA',
      'UNSUP_METADATA_MASK',
      'BAD_EXPERIMENTER',
      'BAD_EXP_TYPE',
      'BAD_LEN',
      'EPERM',
    ],
  },
  4: {
    type: 'BAD_MATCH',
    codes: [
      'BAD_TYPE',
      'BAD_LEN',
      'BAD_TAG',
      'BAD_DL_ADDR_MASK',
      'BAD_NW_ADDR_MASK',
      'BAD_WILDCARDS',
      'BAD_FIELD',
      'BAD_VALUE',
      'BAD_MASK',
      'BAD_PREREQ',
      'DUP_FIELD',
      'EPERM',
    ],
  },
  5: {
    type: 'FLOW_MOD_FAILED',
    codes: [
      'UNKNOWN',
      'TABLE_FULL',
      'BAD_TABLE_ID',
      'OVERLAP',
      'EPERM',
      'BAD_TIMEOUT',
      'BAD_COMMAND',
      'BAD_FLAGS',
    ],
  },
  6: {
    type: 'GROUP_MOD_FAILED',
    codes: [
      'GROUP_EXISTS',
      'INVALID_GROUP',
      'WEIGHT_UNSUPPORTED',
      'OUT_OF_GROUPS',
      'OUT_OF_BUCKETS',
      'CHAINING_UNSUPPORTED',
      'WATCH_UNSUPPORTED',
      'LOOP',
      'UNKNOWN_GROUP',
      'CHAINED_GROUP',
      'BAD_TYPE',
      'BAD_COMMAND',
      'BAD_BUCKET',
      'BAD_WATCH',
      'EPERM',
    ],
  },
  7: { type: 'PORT_MOD_FAILED', codes: ['BAD_PORT', 'BAD_HW_ADDR', 'BAD_CONFIG', 'BAD_ADVERTISE', 'EPERM'] },
  8: { type: 'TABLE_MOD_FAILED', codes: ['BAD_TABLE', 'BAD_CONFIG', 'EPERM'] },
  9: { type: 'QUEUE_OP_FAILED', codes: ['BAD_PORT', 'BAD_QUEUE', 'EPERM'] },
  10: { type: 'SWITCH_CONFIG_FAILED', codes: ['BAD_FLAGS', 'BAD_LEN', 'EPERM'] },
  11: { type: 'ROLE_REQUEST_FAILED', codes: ['STALE', 'UNSUP', 'BAD_ROLE'] },
  12: {
    type: 'METER_MOD_FAILED',
    codes: [
      'UNKNOWN',
      'METER_EXISTS',
      'INVALID_METER',
      'UNKNOWN_METER',
      'BAD_COMMAND',
      'BAD_FLAGS',
      'BAD_RATE',
      'BAD_BURST',
      'BAD_BAND',
      'BAD_BAND_VALUE',
      'OUT_OF_METERS',
      'OUT_OF_BANDS',
    ],
  },
  13: {
    type: 'TABLE_FEATURES_FAILED',
    codes: ['BAD_TABLE', 'BAD_METADATA', 'BAD_TYPE', 'BAD_LEN', 'BAD_ARGUMENT', 'EPERM'],
  },
};

/** "BAD_REQUEST/BAD_TYPE" style name for an error type and code. */
export function errorName(errorType: number, code: number): string {
  const entry = ERROR_NAMES[errorType];
  if (!entry) return `type ${errorType}/code ${code}`;
  return `${entry.type}/${entry.codes[code] ?? `code ${code}`}`;
}

/** OFPVID_PRESENT: set in vlan_vid matches and set-field values when a VLAN tag is present. */
export const VID_PRESENT = 0x1000;
export const VID_NONE = 0x0000;
