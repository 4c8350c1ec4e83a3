// `vnm decode` and `vnm encode`: the OpenFlow 1.3 codec on the command line (like `ovs-ofctl ofp-print`).
import type { Command } from 'commander';
import { OfDecodeError } from '../../openflow/buffer.ts';
import { FramingError, MessageFramer, peekHeader } from '../../openflow/framer.ts';
import { JsonFormatError, messagesFromJson, messageToJson } from '../../openflow/json.ts';
import { decodeMessage, encodeMessage, MESSAGE_TYPE_NAMES } from '../../openflow/messages.ts';
import { messageToText } from '../../openflow/text.ts';
import type { OfMessage } from '../../openflow/types.ts';

/** An error the command reports as `vnm: <message>` with exit status 1. */
class CodecCliError extends Error {}

/**
 * Bytes from hex text: whitespace, newlines, colons and commas separate nothing (they are ignored),
 * and each token may carry a 0x prefix. "04 0e 00 08", "0x040e0008", "04:0e:00:08" are all the same.
 */
export function parseHexInput(text: string): Uint8Array {
  const tokens = text.split(/[\s:,]+/).filter((t) => t !== '');
  let digits = '';
  for (const t of tokens) {
    const d = t.startsWith('0x') || t.startsWith('0X') ? t.slice(2) : t;
    const bad = /[^0-9a-fA-F]/.exec(d);
    if (bad)
      throw new CodecCliError(`input is not hex: unexpected character ${JSON.stringify(bad[0])} in "${t}"`);
    digits += d;
  }
  if (digits.length === 0) throw new CodecCliError('no input: give the message bytes as hex');
  if (digits.length % 2 !== 0)
    throw new CodecCliError(`input has an odd number of hex digits (${digits.length})`);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new CodecCliError('no input argument and stdin is a terminal (give the input, or - to read stdin)');
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

async function readInput(arg: string | undefined): Promise<string> {
  return arg === undefined || arg === '-' ? readStdin() : arg;
}

function typeNameOf(bytes: Uint8Array): string {
  if (bytes.length < 2) return 'unknown';
  return MESSAGE_TYPE_NAMES[bytes[1]!] ?? `type ${bytes[1]}`;
}

export interface DecodeResult {
  messages: OfMessage[];
  /** Set when decoding stopped early; `messages` holds what decoded before. */
  error?: string;
}

/** Split `bytes` into messages with the framer and decode each; stops at the first error. */
export function decodeStream(bytes: Uint8Array): DecodeResult {
  const framer = new MessageFramer();
  const messages: OfMessage[] = [];
  let frames: Uint8Array[];
  let framingError: FramingError | undefined;
  try {
    frames = framer.push(bytes);
  } catch (e) {
    if (!(e instanceof FramingError)) throw e;
    framingError = e;
    // Decode what precedes the bad header, then report it.
    frames = new MessageFramer().push(bytes.subarray(0, e.offset));
  }
  let offset = 0;
  for (const [i, frame] of frames.entries()) {
    try {
      messages.push(decodeMessage(frame));
    } catch (e) {
      if (!(e instanceof OfDecodeError)) throw e;
      return {
        messages,
        error:
          `message [${i}] (${e.messageType}) at input byte ${offset}: field ${e.field} at byte ${e.offset} ` +
          `of the message: ${e.detail}`,
      };
    }
    offset += frame.length;
  }
  const i = frames.length;
  if (framingError) {
    return {
      messages,
      error: `message [${i}] at input byte ${framingError.offset}: ${framingError.reason}`,
    };
  }
  if (offset < bytes.length) {
    const rest = bytes.subarray(offset);
    if (rest.length < 8) {
      return {
        messages,
        error: `message [${i}] at input byte ${offset}: truncated header (${rest.length} of 8 bytes)`,
      };
    }
    const h = peekHeader(rest);
    // Decode what is there, so the error names the first field that is cut off.
    const patched = new Uint8Array(rest);
    patched[2] = rest.length >> 8;
    patched[3] = rest.length & 0xff;
    let detail = `header length ${h.length} but only ${rest.length} byte(s) follow`;
    try {
      decodeMessage(patched);
    } catch (e) {
      if (e instanceof OfDecodeError) detail += `; field ${e.field} at byte ${e.offset} is cut off`;
    }
    return {
      messages,
      error: `message [${i}] (${typeNameOf(rest)}) at input byte ${offset} is truncated: ${detail}`,
    };
  }
  return { messages };
}

function printMessages(messages: OfMessage[], opts: { text?: boolean; compact?: boolean }): void {
  if (messages.length === 0) return;
  if (opts.text) {
    process.stdout.write(`${messages.map(messageToText).join('\n')}\n`);
    return;
  }
  const json = messages.length === 1 ? messageToJson(messages[0]!) : messages.map(messageToJson);
  process.stdout.write(`${JSON.stringify(json, null, opts.compact ? undefined : 2)}\n`);
}

const DECODE_HELP = `
Input: hex bytes (whitespace, newlines, colons and 0x prefixes are ignored), from the argument or, when
it is "-" or absent, from stdin. Several concatenated messages are allowed. One message prints as a JSON
object, several as a JSON array (the form \`vnm encode\` reads back). On a bad message, vnm prints what
decoded before it, then the message index, type, field and byte offset of the error, and exits 1.

Examples:
  $ vnm decode 0414000800000005
  $ vnm decode --text "04 00 00 10 00 00 00 01 00 01 00 08 00 00 00 10"
  $ vnm decode --text 040e005800000005000000000000000000000000000000000000000000000064ffffffff\
ffffffffffffffff000000000001000c800000040000000100000000000400180000000000000010000000020000000000000000
  $ printf '04 02 00 08 00 00 00 07' | vnm decode -
  $ vnm decode "$HEX" | vnm encode -        # prints $HEX again (one line per message)`;

const ENCODE_HELP = `
Input: one message, or a JSON array of messages, in the form that \`vnm decode --json\` prints, from the
argument or, when it is "-" or absent, from stdin. 64-bit fields are strings ("0x1f" or "31"), byte
payloads are hex strings. Unknown keys and wrong types are errors that name the JSON path.
Output: the hex of each message, one line per message.

Examples:
  $ vnm encode '{"type":"barrierRequest","xid":5}'
  $ vnm encode '{"type":"echoRequest","xid":1,"data":"cafe"}'
  $ vnm encode '[{"type":"featuresRequest","xid":1},{"type":"barrierRequest","xid":2}]'
  $ vnm decode "$HEX" > msg.json && vnm encode - < msg.json`;

export function registerCodecCommands(program: Command): void {
  program
    .command('decode')
    .summary('decode OpenFlow 1.3 messages from hex (like ovs-ofctl ofp-print)')
    .description(
      'Decode OpenFlow 1.3 messages given as hex and print them as JSON (default) or readable text.',
    )
    .argument('[hex]', 'the message bytes as hex, or - to read stdin (the default)')
    .option('--json', 'print the JSON form (default)')
    .option('--text', 'print a readable text form, one message per line or block')
    .option('--compact', 'print JSON on one line')
    .addHelpText('after', DECODE_HELP)
    .action(async (hex: string | undefined, opts: { json?: boolean; text?: boolean; compact?: boolean }) => {
      if (opts.json && opts.text) throw new CodecCliError('choose one of --json and --text');
      const bytes = parseHexInput(await readInput(hex));
      const { messages, error } = decodeStream(bytes);
      printMessages(messages, opts);
      if (error) throw new CodecCliError(`decode: ${error}`);
    });

  program
    .command('encode')
    .summary('encode OpenFlow 1.3 messages from their JSON form to hex')
    .description(
      'Encode one OpenFlow 1.3 message (or a JSON array of them) from the `vnm decode --json` form.',
    )
    .argument('[json]', 'the message as JSON, or - to read stdin (the default)')
    .addHelpText('after', ENCODE_HELP)
    .action(async (text: string | undefined) => {
      const input = await readInput(text);
      let parsed: unknown;
      try {
        parsed = JSON.parse(input);
      } catch (e) {
        throw new CodecCliError(`encode: input is not JSON: ${e instanceof Error ? e.message : String(e)}`);
      }
      let messages: OfMessage[];
      try {
        messages = messagesFromJson(parsed);
      } catch (e) {
        if (e instanceof JsonFormatError) throw new CodecCliError(`encode: ${e.message}`);
        throw e;
      }
      const lines: string[] = [];
      for (const [i, m] of messages.entries()) {
        try {
          lines.push(encodeMessage(m).toString('hex'));
        } catch (e) {
          const where = Array.isArray(parsed) ? `$[${i}]` : '$';
          throw new CodecCliError(
            `encode: ${where} (${m.type}): ${e instanceof Error ? e.message : String(e)}`,
          );
        }
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
