// Public API of the OpenFlow 1.3 codec.

import { Port as PortNumbers } from './constants.ts';
import type { Port as PortDescription } from './types.ts';

export * from './constants.ts';
export * from './types.ts';
/** `Port` is both the reserved port numbers (value: Port.CONTROLLER, ...) and ofp_port (type). */
export const Port = PortNumbers;
export type Port = PortDescription;
export { ActionType, decodeActionIds, decodeActions, encodeActionIds, encodeActions } from './actions.ts';
export {
  decodeBuckets,
  decodeMeterBands,
  decodePacketQueues,
  decodeQueueProperties,
  encodeBuckets,
  encodeMeterBands,
  encodePacketQueues,
  encodeQueueProperties,
} from './buckets.ts';
export { OfDecodeError, Reader, Writer } from './buffer.ts';
export {
  applyActions,
  flowMod,
  type MatchSpec,
  matchField,
  matchGet,
  matchOf,
  type OxmValueOf,
  output,
  packetOut,
} from './builders.ts';
export {
  DEFAULT_MAX_MESSAGE_SIZE,
  FramingError,
  MessageFramer,
  type OfHeader,
  peekHeader,
} from './framer.ts';
export {
  decodeInstructionIds,
  decodeInstructions,
  encodeInstructionIds,
  encodeInstructions,
  InstructionType,
} from './instructions.ts';
export * from './json.ts';
export {
  decodeMessage,
  encodeMessage,
  MESSAGE_TYPE_NAMES,
  MESSAGE_TYPE_NUMBER,
  messageTypeNumber,
} from './messages.ts';
export * from './multipart.ts';
export {
  decodeMatch,
  decodeOxmField,
  decodeOxmIds,
  encodeMatch,
  encodeOxmField,
  encodeOxmIds,
  OXM_FIELD_BY_NAME,
  OXM_FIELDS,
  type OxmFieldInfo,
  oxmFieldInfo,
} from './oxm.ts';
export { decodePort, encodePort } from './ports.ts';
export * from './text.ts';
