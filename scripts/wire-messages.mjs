// Just enough of the MongoDB wire protocol to see where each message ends and what it asks for:
// the 16-byte header (length, requestID, responseTo, opCode, all int32 little-endian) and, for
// OP_MSG, the flagBits and the command name (the first key of the kind-0 body section).
// Types in wire-messages.d.mts.

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

/** OP_MSG flagBits: the sender sends another message without waiting for a reply. */
export const MORE_TO_COME = 1 << 1;
/** OP_MSG flagBits: the client accepts several replies (moreToCome) to this request. */
export const EXHAUST_ALLOWED = 1 << 16;

const HEADER = 16;
/** Larger than the server's 48 MB message limit: such a length means the stream is not wire protocol. */
const MAX_MESSAGE = 64 * 1024 * 1024;

/**
 * Splits a byte stream into whole messages: push() any chunk (a part of a message, or several),
 * get back the messages it completed, each as its own Buffer.
 */
export class MessageFramer {
  #pending = [];
  #size = 0;

  push(chunk) {
    this.#pending.push(chunk);
    this.#size += chunk.length;
    const messages = [];
    for (;;) {
      if (this.#size < 4) break;
      const buffer = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#size);
      this.#pending = [buffer];
      const length = buffer.readInt32LE(0);
      if (length < HEADER || length > MAX_MESSAGE) throw new Error(`wire: message length ${length} out of range`);
      if (this.#size < length) break;
      messages.push(buffer.subarray(0, length));
      const rest = buffer.subarray(length);
      this.#pending = rest.length ? [rest] : [];
      this.#size = rest.length;
    }
    return messages;
  }
}

/** The first key of the BSON document at `offset`, or undefined if it is empty or cut short. */
function firstKey(message, offset) {
  const keyStart = offset + 4 + 1; // int32 document size, element type byte
  if (keyStart >= message.length || message[offset + 4] === 0) return undefined;
  const end = message.indexOf(0, keyStart);
  return end < 0 ? undefined : message.toString('utf8', keyStart, end);
}

/** The command name of an OP_MSG: the first key of its kind-0 section (sections may come in any order). */
function opMsgCommand(message) {
  let offset = HEADER + 4;
  while (offset < message.length) {
    const kind = message[offset];
    if (kind === 0) return firstKey(message, offset + 1);
    if (kind !== 1 || offset + 5 > message.length) return undefined;
    offset += 1 + message.readInt32LE(offset + 1); // kind-1 size counts itself, not the kind byte
  }
  return undefined;
}

/**
 * What a whole message is: its header fields, and for OP_MSG its flagBits and command name.
 * Other opcodes (OP_QUERY, OP_REPLY, OP_COMPRESSED) get flagBits 0 and no command.
 */
export function describeMessage(message) {
  const header = {
    length: message.readInt32LE(0),
    requestId: message.readInt32LE(4),
    responseTo: message.readInt32LE(8),
    opCode: message.readInt32LE(12),
  };
  if (header.opCode !== OP_MSG || message.length < HEADER + 5) return { ...header, flagBits: 0, command: undefined };
  return { ...header, flagBits: message.readUInt32LE(HEADER), command: opMsgCommand(message) };
}
