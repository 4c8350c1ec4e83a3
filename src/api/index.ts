// The application API: what an app imports (and nothing else). Types and errors of the ControllerApi,
// helpers that make apps read like Ryu's, the topology discovery service, and the OpenFlow and packet
// value helpers an app needs, re-exported so that apps never import the codec, the runtime or the shim.

export type {
  Action,
  FlowMod,
  FlowRemoved,
  FlowStats,
  Instruction,
  Match,
  MultipartReplyBody,
  MultipartRequestBody,
  Outgoing,
  OxmField,
  OxmName,
  PacketIn,
  PacketOut,
  PortStats,
  PortStatus,
} from '../openflow/index.ts';
/** Everything else of the codec and the packet library, namespaced. */
export * as of from '../openflow/index.ts';
// OpenFlow: builders and constants (`Port` is both the reserved port numbers and the ofp_port type).
export {
  applyActions,
  CONTROLLER_MAX_LEN_NO_BUFFER,
  ErrorType,
  errorName,
  FlowModCommand,
  FlowModFlags,
  FlowRemovedReason,
  flowMod,
  Group,
  type MatchSpec,
  MultipartType,
  matchField,
  matchGet,
  matchOf,
  NO_BUFFER,
  output,
  PacketInReason,
  Port,
  PortConfig,
  PortReason,
  PortState,
  packetOut,
  Table,
  VID_NONE,
  VID_PRESENT,
} from '../openflow/index.ts';
export type {
  ArpPacket,
  EthernetHeader,
  EthernetSummary,
  Ipv4Header,
  ParsedPacket,
} from '../packet/index.ts';
export * as pkt from '../packet/index.ts';
// Packets: parse (with the fast Ethernet path for packet-in) and build.
export {
  ARP_OP,
  BROADCAST_MAC,
  buildArp,
  buildEthernet,
  buildFrame,
  buildGratuitousArp,
  buildIcmpEcho,
  buildLldpDiscovery,
  buildRarpAnnounce,
  ETH_TYPE,
  ethernetHeaderOf,
  IP_PROTO,
  isBroadcast,
  isGratuitousArp,
  isMulticast,
  isUnicast,
  LLDP_MULTICAST_MAC,
  macToString,
  parseEthernet,
  parseLldpDiscovery,
  parsePacket,
} from '../packet/index.ts';
export type { Logger } from '../util/log.ts';
export * from './helpers.ts';
export * from './topology.ts';
export * from './types.ts';
