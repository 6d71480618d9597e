// Framing and reading MongoDB wire messages (the serializing proxy's parser), on hand-built bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BSON } from 'mongodb';
import { describeMessage, EXHAUST_ALLOWED, MessageFramer, MORE_TO_COME, OP_MSG, OP_QUERY } from '../../../scripts/wire-messages.mjs';

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG with the given flags, optionally a kind-1 section before the kind-0 body. */
function opMsg(requestId: number, flags: number, body: Record<string, unknown>, sequence?: Record<string, unknown>[]): Buffer {
  const flagBits = Buffer.alloc(4);
  flagBits.writeUInt32LE(flags >>> 0);
  const sections: Buffer[] = [];
  if (sequence) {
    const docs = Buffer.concat(sequence.map((d) => Buffer.from(BSON.serialize(d))));
    const id = Buffer.from('documents\0');
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + id.length + docs.length);
    sections.push(Buffer.from([1]), size, id, docs);
  }
  sections.push(Buffer.from([0]), Buffer.from(BSON.serialize(body)));
  const rest = Buffer.concat([flagBits, ...sections]);
  return Buffer.concat([header(16 + rest.length, requestId, 0, OP_MSG), rest]);
}

describe('wire messages', () => {
  it('reads the command name and flagBits of an OP_MSG, also after a kind-1 section', () => {
    const info = describeMessage(opMsg(7, MORE_TO_COME | EXHAUST_ALLOWED, { update: 'sessions', $db: 'x' }));
    assert.deepEqual(info, {
      length: info.length,
      requestId: 7,
      responseTo: 0,
      opCode: OP_MSG,
      flagBits: MORE_TO_COME | EXHAUST_ALLOWED,
      command: 'update',
    });
    assert.equal(describeMessage(opMsg(8, 0, { insert: 'c', $db: 'x' }, [{ a: 1 }, { a: 2 }])).command, 'insert');
  });

  it('gives other opcodes no command', () => {
    const query = Buffer.concat([header(20, 1, 0, OP_QUERY), Buffer.alloc(4)]);
    assert.equal(describeMessage(query).command, undefined);
    assert.equal(describeMessage(query).opCode, OP_QUERY);
  });

  it('frames messages split across chunks and several in one chunk', () => {
    const messages = [opMsg(1, 0, { find: 'a' }), opMsg(2, 0, { hello: 1 }), opMsg(3, 0, { delete: 'b' })];
    const stream = Buffer.concat(messages);
    for (const cut of [1, 3, 4, 5, 17, messages[0]!.length, messages[0]!.length + 2, stream.length - 1]) {
      const framer = new MessageFramer();
      const out = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))];
      assert.deepEqual(
        out.map((m) => describeMessage(m).requestId),
        [1, 2, 3],
        `cut at ${cut}`,
      );
    }
    const byteByByte = new MessageFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...byteByByte.push(stream.subarray(i, i + 1)));
    assert.deepEqual(
      out.map((m) => describeMessage(m).command),
      ['find', 'hello', 'delete'],
    );
  });

  it('rejects a length that cannot be a wire message', () => {
    assert.throws(() => new MessageFramer().push(header(3, 1, 0, OP_MSG)), /out of range/);
  });
});
