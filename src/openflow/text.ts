// A readable one-or-few-lines form of a message, in the spirit of `ovs-ofctl ofp-print`:
//   OFPT_FLOW_MOD (xid=0x5): ADD table:0 priority=100 in_port=1,eth_dst=aa:bb:cc:dd:ee:ff actions=output:2
// It is for people (logs, `vnm decode --text`); the JSON form is the one to parse.

import {
  Capabilities,
  errorName,
  FlowModFlags,
  Group,
  NO_BUFFER,
  Meter as ReservedMeter,
  Port as ReservedPort,
  Table,
  VID_PRESENT,
} from './constants.ts';
import type {
  Action,
  Bucket,
  FlowStats,
  Instruction,
  Match,
  MeterBand,
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  OxmField,
  Port,
  TableFeatureProperty,
} from './types.ts';

// ---------------------------------------------------------------- small formatters

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

function hexBytes(b: Uint8Array, max = 64): string {
  const h = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, max)).toString('hex');
  return b.length > max ? `${h}...` : h;
}

const PORT_NAMES = new Map<number, string>(
  Object.entries(ReservedPort)
    .filter(([k]) => k !== 'MAX')
    .map(([k, v]) => [v, k]),
);

/** A port number, or the name of a reserved port (CONTROLLER, FLOOD, LOCAL, ANY, ...). */
export function portName(p: number): string {
  return PORT_NAMES.get(p) ?? String(p);
}

function groupName(g: number): string {
  if (g === Group.ALL) return 'ALL';
  if (g === Group.ANY) return 'ANY';
  return String(g);
}

function tableName(t: number): string {
  return t === Table.ALL ? 'ALL' : String(t);
}

function meterName(m: number): string {
  if (m === ReservedMeter.ALL) return 'ALL';
  if (m === ReservedMeter.CONTROLLER) return 'CONTROLLER';
  if (m === ReservedMeter.SLOWPATH) return 'SLOWPATH';
  return String(m);
}

function bufferName(b: number): string {
  return b === NO_BUFFER ? 'none' : hex(b);
}

function flagNames(bits: number, names: Record<string, number>): string {
  const out: string[] = [];
  let rest = bits;
  for (const [k, v] of Object.entries(names)) {
    if (v !== 0 && (bits & v) === v) {
      out.push(k.toLowerCase());
      rest &= ~v;
    }
  }
  if (rest !== 0) out.push(hex(rest >>> 0));
  return out.join(',');
}

function duration(sec: number, nsec: number): string {
  return `${sec}.${String(Math.floor(nsec / 1e6)).padStart(3, '0')}s`;
}

// ---------------------------------------------------------------- match, actions, instructions

const HEX_FIELDS = new Set(['eth_type', 'metadata', 'tunnel_id', 'ipv6_flabel', 'pbb_isid', 'ipv6_exthdr']);

function oxmValue(f: Exclude<OxmField, { field: 'unknown' }>, v: number | bigint | string): string {
  if (typeof v === 'string') return v;
  if (f.field === 'in_port' || f.field === 'in_phy_port') return portName(v as number);
  if (HEX_FIELDS.has(f.field)) return hex(v);
  return String(v);
}

/** One OXM field as `name=value[/mask]` (vlan_vid shows the VID and whether a tag is present). */
export function oxmToText(f: OxmField): string {
  if (f.field === 'unknown') {
    return `oxm(class=${hex(f.oxmClass)},field=${f.oxmField}${f.hasMask ? ',masked' : ''},data=${hexBytes(f.data)})`;
  }
  if (f.field === 'vlan_vid' && f.mask === undefined) {
    const v = f.value;
    return (v & VID_PRESENT) !== 0
      ? `vlan_vid=${v & 0xfff}`
      : v === 0
        ? 'vlan_vid=none'
        : `vlan_vid=${hex(v)}`;
  }
  const mask = f.mask === undefined ? '' : `/${typeof f.mask === 'string' ? f.mask : hex(f.mask)}`;
  return `${f.field}=${oxmValue(f, f.value)}${mask}`;
}

export function matchToText(m: Match): string {
  return m.fields.length === 0 ? 'any' : m.fields.map(oxmToText).join(',');
}

export function actionToText(a: Action): string {
  switch (a.type) {
    case 'output':
      if (a.port === ReservedPort.CONTROLLER) return `CONTROLLER:${a.maxLen}`;
      return PORT_NAMES.has(a.port) ? portName(a.port) : `output:${a.port}`;
    case 'copyTtlOut':
      return 'copy_ttl_out';
    case 'copyTtlIn':
      return 'copy_ttl_in';
    case 'setMplsTtl':
      return `set_mpls_ttl(${a.ttl})`;
    case 'decMplsTtl':
      return 'dec_mpls_ttl';
    case 'pushVlan':
      return `push_vlan:${hex(a.ethertype)}`;
    case 'popVlan':
      return 'pop_vlan';
    case 'pushMpls':
      return `push_mpls:${hex(a.ethertype)}`;
    case 'popMpls':
      return `pop_mpls:${hex(a.ethertype)}`;
    case 'setQueue':
      return `set_queue:${a.queueId}`;
    case 'group':
      return `group:${a.groupId}`;
    case 'setNwTtl':
      return `mod_nw_ttl:${a.ttl}`;
    case 'decNwTtl':
      return 'dec_ttl';
    case 'setField': {
      const f = a.field;
      if (f.field === 'unknown') return `set_field:${oxmToText(f)}`;
      const mask = f.mask === undefined ? '' : `/${typeof f.mask === 'string' ? f.mask : hex(f.mask)}`;
      return `set_field:${oxmValue(f, f.value)}${mask}->${f.field}`;
    }
    case 'pushPbb':
      return `push_pbb:${hex(a.ethertype)}`;
    case 'popPbb':
      return 'pop_pbb';
    case 'experimenter':
      return `experimenter(${hex(a.experimenter)},data=${hexBytes(a.data)})`;
    case 'unknown':
      return `unknown_action(type=${a.actionType},data=${hexBytes(a.data)})`;
  }
}

export function actionsToText(as: readonly Action[]): string {
  return as.length === 0 ? 'drop' : as.map(actionToText).join(',');
}

function instructionToText(i: Instruction): string {
  switch (i.type) {
    case 'gotoTable':
      return `goto_table:${i.tableId}`;
    case 'writeMetadata':
      return `write_metadata:${hex(i.metadata)}/${hex(i.metadataMask)}`;
    case 'writeActions':
      return `write_actions(${i.actions.map(actionToText).join(',')})`;
    case 'applyActions':
      return i.actions.map(actionToText).join(',');
    case 'clearActions':
      return 'clear_actions';
    case 'meter':
      return `meter:${meterName(i.meterId)}`;
    case 'experimenter':
      return `experimenter_instruction(${hex(i.experimenter)},data=${hexBytes(i.data)})`;
    case 'unknown':
      return `unknown_instruction(type=${i.instructionType},data=${hexBytes(i.data)})`;
  }
}

/** Instructions in the ovs-ofctl style: `actions=...` (apply-actions inline, the others by name). */
export function instructionsToText(is: readonly Instruction[]): string {
  const parts = is.map(instructionToText).filter((s) => s !== '');
  return `actions=${parts.length === 0 ? 'drop' : parts.join(',')}`;
}

function bucketToText(b: Bucket): string {
  const extra = [
    b.weight !== 0 ? `weight:${b.weight}` : '',
    b.watchPort !== ReservedPort.ANY ? `watch_port:${portName(b.watchPort)}` : '',
    b.watchGroup !== Group.ANY ? `watch_group:${groupName(b.watchGroup)}` : '',
  ].filter((s) => s !== '');
  return `bucket=${[...extra, `actions=${actionsToText(b.actions)}`].join(',')}`;
}

function bandToText(b: MeterBand): string {
  switch (b.type) {
    case 'drop':
      return `type=drop rate=${b.rate} burst_size=${b.burstSize}`;
    case 'dscpRemark':
      return `type=dscp_remark rate=${b.rate} burst_size=${b.burstSize} prec_level=${b.precLevel}`;
    case 'experimenter':
      return `type=experimenter(${hex(b.experimenter)}) rate=${b.rate} burst_size=${b.burstSize}`;
    case 'unknown':
      return `type=${b.bandType} rate=${b.rate} burst_size=${b.burstSize}`;
  }
}

function portToText(p: Port): string {
  return (
    `${portName(p.portNo)}(${p.name}): addr:${p.hwAddr} config:${hex(p.config)} state:${hex(p.state)}` +
    ` curr:${hex(p.curr)} speed:${p.currSpeed}/${p.maxSpeed} kbps`
  );
}

// ---------------------------------------------------------------- names

const COMMANDS = ['ADD', 'MODIFY', 'MODIFY_STRICT', 'DELETE', 'DELETE_STRICT'];
const GROUP_COMMANDS = ['ADD', 'MODIFY', 'DELETE'];
const GROUP_TYPES = ['all', 'select', 'indirect', 'ff'];
const ROLES = ['nochange', 'equal', 'master', 'slave'];
const PACKET_IN_REASONS = ['no_match', 'action', 'invalid_ttl'];
const FLOW_REMOVED_REASONS = ['idle', 'hard', 'delete', 'group_delete'];
const PORT_REASONS = ['ADD', 'DELETE', 'MODIFY'];
const FRAG = ['normal', 'drop', 'reassemble', 'nx-match'];

const nameOr = (names: readonly string[], n: number): string => names[n] ?? String(n);

const MP_NAMES: Record<MultipartRequestBody['kind'], string> = {
  desc: 'OFPST_DESC',
  flow: 'OFPST_FLOW',
  aggregate: 'OFPST_AGGREGATE',
  table: 'OFPST_TABLE',
  portStats: 'OFPST_PORT',
  queue: 'OFPST_QUEUE',
  group: 'OFPST_GROUP',
  groupDesc: 'OFPST_GROUP_DESC',
  groupFeatures: 'OFPST_GROUP_FEATURES',
  meter: 'OFPST_METER',
  meterConfig: 'OFPST_METER_CONFIG',
  meterFeatures: 'OFPST_METER_FEATURES',
  tableFeatures: 'OFPST_TABLE_FEATURES',
  portDesc: 'OFPST_PORT_DESC',
  experimenter: 'OFPST_EXPERIMENTER',
  unknown: 'OFPST_UNKNOWN',
};

const TYPE_NAMES: Record<OfMessage['type'], string> = {
  hello: 'OFPT_HELLO',
  error: 'OFPT_ERROR',
  errorExperimenter: 'OFPT_ERROR',
  echoRequest: 'OFPT_ECHO_REQUEST',
  echoReply: 'OFPT_ECHO_REPLY',
  experimenter: 'OFPT_EXPERIMENTER',
  featuresRequest: 'OFPT_FEATURES_REQUEST',
  featuresReply: 'OFPT_FEATURES_REPLY',
  getConfigRequest: 'OFPT_GET_CONFIG_REQUEST',
  getConfigReply: 'OFPT_GET_CONFIG_REPLY',
  setConfig: 'OFPT_SET_CONFIG',
  packetIn: 'OFPT_PACKET_IN',
  flowRemoved: 'OFPT_FLOW_REMOVED',
  portStatus: 'OFPT_PORT_STATUS',
  packetOut: 'OFPT_PACKET_OUT',
  flowMod: 'OFPT_FLOW_MOD',
  groupMod: 'OFPT_GROUP_MOD',
  portMod: 'OFPT_PORT_MOD',
  tableMod: 'OFPT_TABLE_MOD',
  multipartRequest: 'OFPT_MULTIPART_REQUEST',
  multipartReply: 'OFPT_MULTIPART_REPLY',
  barrierRequest: 'OFPT_BARRIER_REQUEST',
  barrierReply: 'OFPT_BARRIER_REPLY',
  queueGetConfigRequest: 'OFPT_QUEUE_GET_CONFIG_REQUEST',
  queueGetConfigReply: 'OFPT_QUEUE_GET_CONFIG_REPLY',
  roleRequest: 'OFPT_ROLE_REQUEST',
  roleReply: 'OFPT_ROLE_REPLY',
  getAsyncRequest: 'OFPT_GET_ASYNC_REQUEST',
  getAsyncReply: 'OFPT_GET_ASYNC_REPLY',
  setAsync: 'OFPT_SET_ASYNC',
  meterMod: 'OFPT_METER_MOD',
  unknown: 'OFPT_UNKNOWN',
};

// ---------------------------------------------------------------- multipart bodies

function flowRequestText(b: Extract<MultipartRequestBody, { kind: 'flow' | 'aggregate' }>): string {
  const parts = [`table=${tableName(b.tableId)}`];
  if (b.outPort !== ReservedPort.ANY) parts.push(`out_port=${portName(b.outPort)}`);
  if (b.outGroup !== Group.ANY) parts.push(`out_group=${groupName(b.outGroup)}`);
  if (b.cookieMask !== 0n) parts.push(`cookie=${hex(b.cookie)}/${hex(b.cookieMask)}`);
  parts.push(matchToText(b.match));
  return ` ${parts.join(' ')}`;
}

function tableFeaturePropText(p: TableFeatureProperty): string {
  switch (p.type) {
    case 'instructions':
    case 'instructionsMiss':
      return `${p.type}: ${p.ids.map((i) => i.instructionType).join(',')}`;
    case 'nextTables':
    case 'nextTablesMiss':
      return `${p.type}: ${p.tableIds.join(',')}`;
    case 'writeActions':
    case 'writeActionsMiss':
    case 'applyActions':
    case 'applyActionsMiss':
      return `${p.type}: ${p.ids.map((i) => i.actionType).join(',')}`;
    case 'experimenter':
    case 'experimenterMiss':
      return `${p.type}: ${hex(p.experimenter)} type=${p.expType} ${p.data.length} bytes`;
    case 'unknown':
      return `property ${p.propertyType}: ${p.data.length} bytes`;
    default:
      return `${p.type}: ${p.oxmIds.length} field(s)`;
  }
}

function flowStatsText(s: FlowStats): string {
  const parts = [
    `cookie=${hex(s.cookie)}`,
    `duration=${duration(s.durationSec, s.durationNsec)}`,
    `table=${s.tableId}`,
    `n_packets=${s.packetCount}`,
    `n_bytes=${s.byteCount}`,
  ];
  if (s.idleTimeout) parts.push(`idle_timeout=${s.idleTimeout}`);
  if (s.hardTimeout) parts.push(`hard_timeout=${s.hardTimeout}`);
  if (s.flags) parts.push(`flags=${flagNames(s.flags, FlowModFlags)}`);
  const m = s.match.fields.length ? `,${matchToText(s.match)}` : '';
  return ` ${parts.join(', ')}, priority=${s.priority}${m} ${instructionsToText(s.instructions)}`;
}

function replyLines(b: MultipartReplyBody): string[] {
  switch (b.kind) {
    case 'desc':
      return [
        `Manufacturer: ${b.mfrDesc}`,
        `Hardware: ${b.hwDesc}`,
        `Software: ${b.swDesc}`,
        `Serial Num: ${b.serialNum}`,
        `DP Description: ${b.dpDesc}`,
      ];
    case 'flow':
      return b.stats.map(flowStatsText);
    case 'aggregate':
      return [`packet_count=${b.packetCount} byte_count=${b.byteCount} flow_count=${b.flowCount}`];
    case 'table':
      return b.stats.map(
        (s) =>
          `  table ${s.tableId}: active=${s.activeCount}, lookup=${s.lookupCount}, matched=${s.matchedCount}`,
      );
    case 'portStats':
      return b.stats.map(
        (s) =>
          `  port ${portName(s.portNo)}: rx pkts=${s.rxPackets}, bytes=${s.rxBytes}, drop=${s.rxDropped}, errs=${s.rxErrors}` +
          ` tx pkts=${s.txPackets}, bytes=${s.txBytes}, drop=${s.txDropped}, errs=${s.txErrors}` +
          ` duration=${duration(s.durationSec, s.durationNsec)}`,
      );
    case 'queue':
      return b.stats.map(
        (s) =>
          `  port ${portName(s.portNo)} queue ${s.queueId}: bytes=${s.txBytes}, pkts=${s.txPackets}, errors=${s.txErrors}` +
          ` duration=${duration(s.durationSec, s.durationNsec)}`,
      );
    case 'group':
      return b.stats.map(
        (s) =>
          `  group_id=${s.groupId},ref_count=${s.refCount},packet_count=${s.packetCount},byte_count=${s.byteCount}` +
          `,duration=${duration(s.durationSec, s.durationNsec)}` +
          s.bucketStats
            .map((c, i) => `,bucket${i}:packet_count=${c.packetCount},byte_count=${c.byteCount}`)
            .join(''),
      );
    case 'groupDesc':
      return b.groups.map(
        (g) =>
          ` group_id=${g.groupId},type=${nameOr(GROUP_TYPES, g.groupType)}` +
          g.buckets.map((k) => `,${bucketToText(k)}`).join(''),
      );
    case 'groupFeatures':
      return [
        `types=${hex(b.types)} capabilities=${hex(b.capabilities)} max_groups=${b.maxGroups.join(',')}` +
          ` actions=${b.actions.map(hex).join(',')}`,
      ];
    case 'meter':
      return b.stats.map(
        (s) =>
          `meter:${meterName(s.meterId)} flow_count:${s.flowCount} packet_in_count:${s.packetInCount}` +
          ` byte_in_count:${s.byteInCount} duration:${duration(s.durationSec, s.durationNsec)} bands:` +
          s.bandStats
            .map((c, i) => ` ${i}: packet_count:${c.packetBandCount} byte_count:${c.byteBandCount}`)
            .join(''),
      );
    case 'meterConfig':
      return b.configs.map(
        (c) =>
          `meter=${meterName(c.meterId)} flags=${hex(c.flags)} bands=` +
          c.bands.map((x) => bandToText(x)).join(' '),
      );
    case 'meterFeatures':
      return [
        `max_meter:${b.maxMeter} band_types:${hex(b.bandTypes)} capabilities:${hex(b.capabilities)}` +
          ` max_bands:${b.maxBands} max_color:${b.maxColor}`,
      ];
    case 'tableFeatures':
      return b.features.flatMap((t) => [
        `  table ${t.tableId} ("${t.name}"): metadata match=${hex(t.metadataMatch)} write=${hex(t.metadataWrite)}` +
          ` config=${hex(t.config)} max_entries=${t.maxEntries}`,
        ...t.properties.map((p) => `    ${tableFeaturePropText(p)}`),
      ]);
    case 'portDesc':
      return b.ports.map((p) => ` ${portToText(p)}`);
    case 'experimenter':
      return [`experimenter=${hex(b.experimenter)} exp_type=${b.expType} data=${hexBytes(b.data)}`];
    case 'unknown':
      return [`multipart type ${b.multipartType}: ${b.data.length} bytes ${hexBytes(b.data)}`];
  }
}

function requestText(b: MultipartRequestBody): string {
  switch (b.kind) {
    case 'flow':
    case 'aggregate':
      return flowRequestText(b);
    case 'portStats':
      return ` port_no=${portName(b.portNo)}`;
    case 'queue':
      return ` port=${portName(b.portNo)} queue=${b.queueId === 0xffffffff ? 'ALL' : b.queueId}`;
    case 'group':
      return ` group_id=${groupName(b.groupId)}`;
    case 'meter':
    case 'meterConfig':
      return ` meter=${meterName(b.meterId)}`;
    case 'tableFeatures':
      return b.features.length ? ` ${b.features.length} table(s)` : '';
    case 'experimenter':
      return ` experimenter=${hex(b.experimenter)} exp_type=${b.expType} data=${hexBytes(b.data)}`;
    case 'unknown':
      return ` type ${b.multipartType}: ${b.data.length} bytes`;
    default:
      return '';
  }
}

// ---------------------------------------------------------------- messages

function body(m: OfMessage): string {
  switch (m.type) {
    case 'hello': {
      const versions: number[] = [];
      for (const e of m.elements) {
        if (e.type !== 'versionBitmap') continue;
        e.bitmaps.forEach((word, i) => {
          for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) versions.push(32 * i + bit);
        });
      }
      const v = versions.length ? ` version bitmap: ${versions.map((x) => hex(x)).join(', ')}` : '';
      return `version=${hex(m.version)}${v}`;
    }
    case 'error':
      return `${errorName(m.errorType, m.code)}${m.data.length ? `\n(${m.data.length} bytes of data) ${hexBytes(m.data)}` : ''}`;
    case 'errorExperimenter':
      return `EXPERIMENTER experimenter=${hex(m.experimenter)} exp_type=${m.expType} data=${hexBytes(m.data)}`;
    case 'echoRequest':
    case 'echoReply':
      return `${m.data.length} bytes of payload${m.data.length ? ` ${hexBytes(m.data)}` : ''}`;
    case 'experimenter':
      return `experimenter=${hex(m.experimenter)} exp_type=${m.expType} data=${hexBytes(m.data)}`;
    case 'featuresReply':
      return (
        `dpid:${m.datapathId.toString(16).padStart(16, '0')}\n` +
        `n_tables:${m.nTables}, n_buffers:${m.nBuffers}, auxiliary_id:${m.auxiliaryId}\n` +
        `capabilities: ${flagNames(m.capabilities, Capabilities) || '0'}`
      );
    case 'getConfigReply':
    case 'setConfig':
      return `frags=${nameOr(FRAG, m.flags & 3)} miss_send_len=${m.missSendLen}`;
    case 'packetIn':
      return (
        `table_id=${m.tableId} cookie=${hex(m.cookie)} total_len=${m.totalLen} ${matchToText(m.match)}` +
        ` (via ${nameOr(PACKET_IN_REASONS, m.reason)}) data_len=${m.data.length} buffer=${bufferName(m.bufferId)}`
      );
    case 'flowRemoved':
      return (
        `${matchToText(m.match)} reason=${nameOr(FLOW_REMOVED_REASONS, m.reason)} table_id=${m.tableId}` +
        ` cookie=${hex(m.cookie)} priority=${m.priority} duration=${duration(m.durationSec, m.durationNsec)}` +
        ` idle_timeout=${m.idleTimeout} hard_timeout=${m.hardTimeout} pkts=${m.packetCount} bytes=${m.byteCount}`
      );
    case 'portStatus':
      return `${nameOr(PORT_REASONS, m.reason)}: ${portToText(m.port)}`;
    case 'packetOut':
      return (
        `in_port=${portName(m.inPort)} actions=${actionsToText(m.actions)} data_len=${m.data.length}` +
        (m.bufferId !== NO_BUFFER ? ` buffer=${bufferName(m.bufferId)}` : '')
      );
    case 'flowMod': {
      const parts = [nameOr(COMMANDS, m.command), `table:${tableName(m.tableId)}`, `priority=${m.priority}`];
      if (m.cookie !== 0n || m.cookieMask !== 0n) {
        parts.push(`cookie=${hex(m.cookie)}${m.cookieMask !== 0n ? `/${hex(m.cookieMask)}` : ''}`);
      }
      if (m.idleTimeout) parts.push(`idle_timeout=${m.idleTimeout}`);
      if (m.hardTimeout) parts.push(`hard_timeout=${m.hardTimeout}`);
      if (m.bufferId !== NO_BUFFER) parts.push(`buffer=${bufferName(m.bufferId)}`);
      if (m.outPort !== ReservedPort.ANY) parts.push(`out_port=${portName(m.outPort)}`);
      if (m.outGroup !== Group.ANY) parts.push(`out_group=${groupName(m.outGroup)}`);
      if (m.flags) parts.push(`flags=${flagNames(m.flags, FlowModFlags)}`);
      if (m.match.fields.length) parts.push(matchToText(m.match));
      parts.push(instructionsToText(m.instructions));
      return parts.join(' ');
    }
    case 'groupMod':
      return (
        `${nameOr(GROUP_COMMANDS, m.command)} group_id=${groupName(m.groupId)},type=${nameOr(GROUP_TYPES, m.groupType)}` +
        m.buckets.map((b) => `,${bucketToText(b)}`).join('')
      );
    case 'portMod':
      return `port: ${portName(m.portNo)}: addr:${m.hwAddr} config: ${hex(m.config)} mask: ${hex(m.mask)} advertise: ${hex(m.advertise)}`;
    case 'tableMod':
      return `table_id=${tableName(m.tableId)} config=${hex(m.config)}`;
    case 'multipartRequest':
      return requestText(m.body).trimStart() + (m.flags ? ` flags=${hex(m.flags)}` : '');
    case 'multipartReply':
      return (m.flags & 1 ? 'flags=[more]\n' : '') + replyLines(m.body).join('\n');
    case 'queueGetConfigRequest':
      return `port=${portName(m.port)}`;
    case 'queueGetConfigReply':
      return (
        `port=${portName(m.port)}` +
        m.queues
          .map(
            (q) =>
              `\nqueue ${q.queueId} on port ${portName(q.port)}: ` +
              q.properties
                .map((p) =>
                  p.type === 'minRate' || p.type === 'maxRate'
                    ? `${p.type === 'minRate' ? 'min_rate' : 'max_rate'}:${p.rate}`
                    : p.type,
                )
                .join(' '),
          )
          .join('')
      );
    case 'roleRequest':
    case 'roleReply':
      return `role=${nameOr(ROLES, m.role)} generation_id=${m.generationId}`;
    case 'getAsyncReply':
    case 'setAsync':
      return (
        `packet_in=${m.packetInMask.map(hex).join('/')} port_status=${m.portStatusMask.map(hex).join('/')}` +
        ` flow_removed=${m.flowRemovedMask.map(hex).join('/')}`
      );
    case 'meterMod':
      return (
        `${nameOr(GROUP_COMMANDS, m.command)} meter=${meterName(m.meterId)} flags=${hex(m.flags)}` +
        (m.bands.length ? ` bands=${m.bands.map(bandToText).join(' ')}` : '')
      );
    case 'unknown':
      return `version=${hex(m.version)} type=${m.msgType} ${m.body.length} bytes ${hexBytes(m.body)}`;
    default:
      return '';
  }
}

/** The readable form of a message, e.g. `OFPT_FLOW_MOD (xid=0x5): ADD table:0 priority=100 ...`. */
export function messageToText(m: OfMessage): string {
  let head: string;
  if (m.type === 'multipartRequest') head = `${MP_NAMES[m.body.kind]} request`;
  else if (m.type === 'multipartReply') head = `${MP_NAMES[m.body.kind]} reply`;
  else head = TYPE_NAMES[m.type];
  const b = body(m);
  if (b === '') return `${head} (xid=${hex(m.xid)}):`;
  return `${head} (xid=${hex(m.xid)}):${b.startsWith('\n') ? '' : ' '}${b}`;
}
