// Topology discovery over LLDP: the controller sends one frame per switch port, carrying the sending
// datapath id and port number, and reads them back from the packet-in of the neighbouring switch.
// Encoding (the one Ryu uses, so mixed deployments interoperate):
//   chassis id: subtype 7 (locally assigned), text "dpid:" + 16 lower-case hex digits
//   port id:    subtype 2 (port component), the port number as 4 bytes big-endian
//   TTL, End.
import type { MacLike } from './address.ts';
import { buildLldp, type L2Options } from './build.ts';
import { ETH_TYPE, LLDP_CHASSIS_ID_SUBTYPE, LLDP_PORT_ID_SUBTYPE } from './constants.ts';
import { PacketBuildError, PacketParseError } from './errors.ts';
import { parsePacket } from './parse.ts';
import type { LldpPacket, ParsedPacket } from './types.ts';

export interface LldpDiscovery {
  /** 64-bit datapath id. */
  dpid: bigint;
  /** 32-bit OpenFlow port number. */
  port: number;
}

export interface LldpDiscoverySpec extends LldpDiscovery, L2Options {
  /** Ethernet source (the port's MAC). Default: a locally administered MAC made from the dpid's low 40 bits. */
  src?: MacLike;
  /** Default 120 seconds. */
  ttl?: number;
}

const DPID_PREFIX = 'dpid:';

/** The LLDP frame a controller sends out of `port` of datapath `dpid` to discover its neighbour. */
export function buildLldpDiscovery(spec: LldpDiscoverySpec): Uint8Array {
  const { dpid, port } = spec;
  if (typeof dpid !== 'bigint' || dpid < 0n || dpid > 0xffffffffffffffffn) {
    throw new PacketBuildError('dpid', `${String(dpid)} is not a 64-bit unsigned bigint`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 0xffffffff) {
    throw new PacketBuildError('port', `${port} is not a 32-bit unsigned integer`);
  }
  const portBytes = new Uint8Array(4);
  new DataView(portBytes.buffer).setUint32(0, port);
  return buildLldp({
    src: spec.src ?? 0x020000000000n | (dpid & 0xffffffffffn),
    chassisId: {
      subtype: LLDP_CHASSIS_ID_SUBTYPE.LOCALLY_ASSIGNED,
      value: DPID_PREFIX + dpid.toString(16).padStart(16, '0'),
    },
    portId: { subtype: LLDP_PORT_ID_SUBTYPE.PORT_COMPONENT, value: portBytes },
    ttl: spec.ttl ?? 120,
    vlan: spec.vlan,
    pad: spec.pad,
  });
}

const DPID_RE = /^dpid:([0-9a-fA-F]{1,16})$/;

/**
 * The datapath id and port carried by a discovery frame, or undefined when the input is not one
 * (not LLDP, another LLDP agent's frame, unparseable bytes). Never throws.
 * Accepts raw frame bytes, a parsed packet, or its LLDP layer.
 */
export function parseLldpDiscovery(input: Uint8Array | ParsedPacket | LldpPacket): LldpDiscovery | undefined {
  let lldp: LldpPacket | undefined;
  if (input instanceof Uint8Array) {
    // Cheap reject before a full parse: EtherType at 12 (untagged) must be LLDP or a VLAN tag.
    if (input.length < 14) return undefined;
    const t = (input[12]! << 8) | input[13]!;
    if (t !== ETH_TYPE.LLDP && t !== ETH_TYPE.VLAN && t !== ETH_TYPE.QINQ) return undefined;
    try {
      const l3 = parsePacket(input).l3;
      lldp = l3?.kind === 'lldp' ? l3 : undefined;
    } catch (e) {
      if (e instanceof PacketParseError) return undefined;
      throw e;
    }
  } else if ('kind' in input) {
    lldp = input;
  } else {
    lldp = input.l3?.kind === 'lldp' ? input.l3 : undefined;
  }
  if (lldp === undefined) return undefined;
  const { chassisId, portId } = lldp;
  if (chassisId.subtype !== LLDP_CHASSIS_ID_SUBTYPE.LOCALLY_ASSIGNED) return undefined;
  if (chassisId.value.length > DPID_PREFIX.length + 16) return undefined;
  const m = DPID_RE.exec(Buffer.from(chassisId.value).toString('latin1'));
  if (!m) return undefined;
  if (portId.subtype !== LLDP_PORT_ID_SUBTYPE.PORT_COMPONENT) return undefined;
  const v = portId.value;
  let port: number;
  if (v.length === 4) port = v[0]! * 0x1000000 + ((v[1]! << 16) | (v[2]! << 8) | v[3]!);
  else if (v.length === 2)
    port = (v[0]! << 8) | v[1]!; // OpenFlow 1.0 style 16-bit port numbers
  else return undefined;
  return { dpid: BigInt(`0x${m[1]}`), port };
}
