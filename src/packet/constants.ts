// Protocol numbers used by the packet library (and handy for anyone matching on them).

export const ETH_TYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  RARP: 0x8035,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  IPV6: 0x86dd,
  LLDP: 0x88cc,
} as const;

/** EtherType values below this are IEEE 802.3 length fields, not types. */
export const ETH_TYPE_MIN = 0x0600;

/** Tag protocol identifiers recognised as VLAN tags (802.1Q C-tag and 802.1ad S-tag). */
export const VLAN_TPIDS: readonly number[] = [ETH_TYPE.VLAN, ETH_TYPE.QINQ];

export const IP_PROTO = {
  HOPOPT: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
} as const;

export const ARP_OP = {
  REQUEST: 1,
  REPLY: 2,
  /** RARP "request reverse": what hypervisors send to announce a migrated VM. */
  RARP_REQUEST: 3,
  RARP_REPLY: 4,
} as const;

export const ICMP_TYPE = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
} as const;

export const ICMPV6_TYPE = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  ROUTER_SOLICITATION: 133,
  ROUTER_ADVERTISEMENT: 134,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
} as const;

/** TCP flag bits as they sit in the 9-bit flags field (NS is bit 8). */
export const TCP_FLAGS = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
} as const;

export type TcpFlagName = keyof typeof TCP_FLAGS;

export const LLDP_TLV = {
  END: 0,
  CHASSIS_ID: 1,
  PORT_ID: 2,
  TTL: 3,
  PORT_DESCRIPTION: 4,
  SYSTEM_NAME: 5,
  SYSTEM_DESCRIPTION: 6,
  SYSTEM_CAPABILITIES: 7,
  MANAGEMENT_ADDRESS: 8,
  ORGANIZATION_SPECIFIC: 127,
} as const;

export const LLDP_CHASSIS_ID_SUBTYPE = {
  CHASSIS_COMPONENT: 1,
  INTERFACE_ALIAS: 2,
  PORT_COMPONENT: 3,
  MAC_ADDRESS: 4,
  NETWORK_ADDRESS: 5,
  INTERFACE_NAME: 6,
  LOCALLY_ASSIGNED: 7,
} as const;

export const LLDP_PORT_ID_SUBTYPE = {
  INTERFACE_ALIAS: 1,
  PORT_COMPONENT: 2,
  MAC_ADDRESS: 3,
  NETWORK_ADDRESS: 4,
  INTERFACE_NAME: 5,
  AGENT_CIRCUIT_ID: 6,
  LOCALLY_ASSIGNED: 7,
} as const;

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';
/** Nearest-bridge group address: LLDP frames to it are never forwarded by 802.1D bridges. */
export const LLDP_MULTICAST_MAC = '01:80:c2:00:00:0e';

/** Minimum Ethernet frame size without the FCS; shorter frames are padded on the wire. */
export const ETH_MIN_FRAME = 60;
