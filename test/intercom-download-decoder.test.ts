import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { RetriableError } from '../src/errors.js';
import { decodeDownload } from '../src/intercom/download-decoder.js';

const CSV = 'conversation_id,channel,note\r\n1,Chat,"hello, ""world"""\r\n2,Email,\r\n';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** A lazy byte stream cut into chunks of `size` bytes (1 = the worst case for header parsing). */
function chunked(buf: Buffer, size = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
    })(),
    { objectMode: false },
  );
}

async function decode(input: Readable): Promise<{ text: string; encoding: string }> {
  const decoded = decodeDownload(input);
  const parts: Buffer[] = [];
  await pipeline(
    decoded.stream,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        parts.push(chunk);
        cb();
      },
    }),
  );
  return { text: Buffer.concat(parts).toString('utf8'), encoding: await decoded.encoding };
}

// --- zip building (by hand, as a streaming zip writer would) --------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Entry {
  name: string;
  data: Buffer;
  method: 0 | 8;
  /** Streaming writer: sizes and crc in a data descriptor after the data. */
  descriptor?: boolean;
  /** Zip64: 0xFFFFFFFF in the header, real sizes in extra field 0x0001. */
  zip64?: boolean;
}

function zip(entries: Entry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.method === 8 ? deflateRawSync(e.data) : e.data;
    const crc = crc32(e.data);
    const flags = e.descriptor ? 0x08 : 0;
    let extra = Buffer.alloc(0);
    if (e.zip64) {
      extra = Buffer.alloc(20);
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(16, 2);
      extra.writeBigUInt64LE(BigInt(e.data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
    }
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(e.zip64 ? 45 : 20, 4);
    h.writeUInt16LE(flags, 6);
    h.writeUInt16LE(e.method, 8);
    h.writeUInt32LE(e.descriptor ? 0 : crc, 14);
    h.writeUInt32LE(e.descriptor ? 0 : e.zip64 ? 0xffffffff : body.length, 18);
    h.writeUInt32LE(e.descriptor ? 0 : e.zip64 ? 0xffffffff : e.data.length, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(extra.length, 28);
    const parts = [h, name, extra, body];
    if (e.descriptor) {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crc, 4);
      d.writeUInt32LE(body.length, 8);
      d.writeUInt32LE(e.data.length, 12);
      parts.push(d);
    }
    const local = Buffer.concat(parts);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(e.method, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(body.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    centrals.push(Buffer.concat([c, name]));
    locals.push(local);
    offset += local.length;
  }
  const central = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, central, end]);
}

// --- tests ----------------------------------------------------------------------------------------

describe('decodeDownload', () => {
  it('passes plain CSV through unchanged', async () => {
    expect(await decode(chunked(Buffer.from(CSV)))).toEqual({ text: CSV, encoding: 'plain' });
  });

  it('handles an empty body and bodies shorter than the magic numbers', async () => {
    expect(await decode(chunked(Buffer.alloc(0)))).toEqual({ text: '', encoding: 'plain' });
    expect(await decode(chunked(Buffer.from('a\n'), 1))).toEqual({ text: 'a\n', encoding: 'plain' });
    // Starts like a BOM but is too short to be one: it is data.
    const twoBytes = Buffer.from([0xef, 0xbb]);
    const decoded = decodeDownload(chunked(twoBytes, 1));
    const parts: Buffer[] = [];
    for await (const c of decoded.stream) parts.push(c as Buffer);
    expect(Buffer.concat(parts)).toEqual(twoBytes);
  });

  it('gunzips', async () => {
    expect(await decode(chunked(gzipSync(CSV)))).toEqual({ text: CSV, encoding: 'gzip' });
  });

  it('gunzips every member of a multi-member gzip', async () => {
    const lines = CSV.split('\r\n');
    const body = Buffer.concat([gzipSync(`${lines[0]}\r\n`), gzipSync(`${lines[1]}\r\n`), gzipSync(lines.slice(2).join('\r\n'))]);
    expect(await decode(chunked(body, 7))).toEqual({ text: CSV, encoding: 'gzip' });
  });

  it('reads a stored zip entry', async () => {
    const body = zip([{ name: 'export.csv', data: Buffer.from(CSV), method: 0 }]);
    expect(await decode(chunked(body))).toEqual({ text: CSV, encoding: 'zip' });
  });

  it('reads a stored zip64 entry', async () => {
    const body = zip([{ name: 'export.csv', data: Buffer.from(CSV), method: 0, zip64: true }]);
    expect(await decode(chunked(body, 5))).toEqual({ text: CSV, encoding: 'zip' });
  });

  it('reads only the first entry of a deflated zip written with data descriptors', async () => {
    const body = zip([
      { name: 'export.csv', data: Buffer.from(CSV.repeat(50)), method: 8, descriptor: true },
      { name: 'other.csv', data: Buffer.from('not,this\n'), method: 8, descriptor: true },
    ]);
    expect(await decode(chunked(body))).toEqual({ text: CSV.repeat(50), encoding: 'zip' });
  });

  it('treats an archive without entries as an empty file', async () => {
    expect(await decode(chunked(zip([])))).toEqual({ text: '', encoding: 'zip' });
  });

  it('strips a leading UTF-8 BOM, also when it is split across chunks', async () => {
    const withBom = Buffer.concat([BOM, Buffer.from(CSV)]);
    expect((await decode(chunked(withBom))).text).toBe(CSV);
    // First chunk one byte long: EF | BB BF c …
    const split = Readable.from([withBom.subarray(0, 1), withBom.subarray(1)], { objectMode: false });
    expect((await decode(split)).text).toBe(CSV);
    expect((await decode(chunked(gzipSync(withBom)))).text).toBe(CSV);
    const zipped = zip([{ name: 'e.csv', data: withBom, method: 8, descriptor: true }]);
    expect((await decode(chunked(zipped, 2))).text).toBe(CSV);
  });

  it('keeps a BOM-like sequence that is not at the start', async () => {
    const text = `a,b\n${BOM.toString('utf8')}x,y\n`;
    expect((await decode(chunked(Buffer.from(text), 1))).text).toBe(text);
  });

  it.each([
    ['plain', Buffer.concat([BOM, Buffer.from(CSV)])],
    ['gzip', Buffer.concat([gzipSync(CSV.slice(0, 10)), gzipSync(CSV.slice(10))])],
    ['zip', zip([{ name: 'export.csv', data: Buffer.from(CSV), method: 8, descriptor: true }])],
    ['zip', zip([{ name: 'export.csv', data: Buffer.from(CSV), method: 0 }])],
  ])('decodes %s delivered one byte per chunk', async (encoding, body) => {
    expect(await decode(chunked(body, 1))).toEqual({ text: CSV, encoding });
  });

  it('fails the stream on a corrupt gzip', async () => {
    const body = gzipSync(CSV.repeat(20));
    body.fill(0x41, 12, 40); // overwrite deflate data
    await expect(decode(chunked(body, 16))).rejects.toBeInstanceOf(RetriableError);
    await expect(decode(chunked(body, 16))).rejects.toThrow(/not valid gzip/);
  });

  it('fails the stream on a truncated gzip or zip', async () => {
    const gz = gzipSync(CSV.repeat(20));
    await expect(decode(chunked(gz.subarray(0, gz.length - 12)))).rejects.toThrow(/not valid gzip/);
    const z = zip([{ name: 'export.csv', data: Buffer.from(CSV), method: 0 }]);
    await expect(decode(chunked(z.subarray(0, 50)))).rejects.toThrow(/truncated zip/);
    await expect(decode(chunked(z.subarray(0, 20)))).rejects.toThrow(/truncated zip/);
  });

  it('passes a source error on to the output stream', async () => {
    const source = new Readable({
      read() {
        this.push(Buffer.from('a,b\n'));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(decode(source)).rejects.toThrow('connection reset');
  });

  it('stops the source when the consumer gives up', async () => {
    const source = new Readable({
      read() {
        this.push(Buffer.alloc(16 * 1024, 0x61));
      },
    });
    const { stream } = decodeDownload(source);
    for await (const chunk of stream) {
      expect((chunk as Buffer).length).toBeGreaterThan(0);
      break; // destroys `stream`
    }
    await new Promise((r) => setImmediate(r));
    expect(source.destroyed).toBe(true);
  });

  it('streams a 20 MB gzip export without holding it in memory', async () => {
    const total = 20 * 1024 * 1024;
    const line = Buffer.from('215472856448646,2026-05-29 14:03:11,Chat,Support - Chat,5523441,94\n');
    let produced = 0;
    const csv = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        const n = Math.min(64 * 1024, total - produced);
        const chunk = Buffer.alloc(n);
        for (let i = 0; i < n; i += line.length) line.copy(chunk, i, 0, Math.min(line.length, n - i));
        produced += n;
        this.push(chunk);
      },
    });
    // Compressed lazily too; flush often so output appears long before the input ends.
    const gz = csv.pipe(createGzip({ flush: constants.Z_SYNC_FLUSH }));
    const decoded = decodeDownload(gz);

    let outBytes = 0;
    let producedAtFirstOutput = -1;
    let heapPeak = 0;
    const heapBefore = process.memoryUsage().heapUsed;
    await pipeline(
      decoded.stream,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          if (producedAtFirstOutput < 0) producedAtFirstOutput = produced;
          outBytes += chunk.length;
          if (outBytes % (1024 * 1024) < chunk.length) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
          cb();
        },
      }),
    );
    expect(await decoded.encoding).toBe('gzip');
    expect(outBytes).toBe(total);
    // Output began while most of the input was still to be generated: nothing waited for the whole body.
    expect(producedAtFirstOutput).toBeGreaterThan(0);
    expect(producedAtFirstOutput).toBeLessThan(total / 4);
    // Buffers live outside the JS heap, so this is a loose guard against accidental concatenation.
    expect(heapPeak - heapBefore).toBeLessThan(total);
  });
});
