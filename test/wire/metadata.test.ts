import { describe, expect, it } from 'vitest';
import {
  decodeMetadataMessage,
  encodeMetadataData,
  encodeMetadataReject,
  encodeMetadataRequest,
  metadataPieceLength,
  serveMetadataPiece,
} from '../../src/wire/metadata.js';
import { concatBytes, fromUtf8, utf8 } from '../../src/util/bytes.js';
import { DecodeError } from '../../src/util/errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
  return undefined;
}

describe('BEP 9 ut_metadata messages', () => {
  it('encodes the BEP 9 vectors', () => {
    expect(fromUtf8(encodeMetadataRequest(0))).toBe('d8:msg_typei0e5:piecei0ee');
    expect(fromUtf8(encodeMetadataReject(0))).toBe('d8:msg_typei2e5:piecei0ee');
    expect(fromUtf8(encodeMetadataData(0, 3425, utf8('xyz')))).toBe('d8:msg_typei1e5:piecei0e10:total_sizei3425eexyz');
  });

  it('decodes request, reject and data with the raw bytes after the dict', () => {
    expect(decodeMetadataMessage(utf8('d8:msg_typei0e5:piecei3ee'))).toEqual({ type: 'request', piece: 3 });
    expect(decodeMetadataMessage(utf8('d8:msg_typei2e5:piecei0ee'))).toEqual({ type: 'reject', piece: 0 });
    const m = decodeMetadataMessage(utf8('d8:msg_typei1e5:piecei0e10:total_sizei3ee' + 'abc'));
    expect(m.type).toBe('data');
    if (m.type === 'data') {
      expect(m.totalSize).toBe(3);
      expect(fromUtf8(m.data)).toBe('abc');
    }
    const full = new Uint8Array(16384).fill(1);
    const d = decodeMetadataMessage(encodeMetadataData(0, 20000, full));
    expect(d.type === 'data' && d.data.length).toBe(16384);
    const last = decodeMetadataMessage(encodeMetadataData(1, 20000, new Uint8Array(20000 - 16384)));
    expect(last.type === 'data' && last.data.length).toBe(3616);
  });

  it('rejects malformed messages', () => {
    expect(codeOf(() => decodeMetadataMessage(utf8('li0ee')))).toBe('wire_metadata_not_dict');
    expect(codeOf(() => decodeMetadataMessage(utf8('d5:piecei0ee')))).toBe('wire_metadata_bad_type');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_typei3e5:piecei0ee')))).toBe('wire_metadata_bad_type');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_typei0e5:piecei-1ee')))).toBe('wire_metadata_bad_piece');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_typei0ee')))).toBe('wire_metadata_bad_piece');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_typei0e5:piecei0eexx')))).toBe('wire_metadata_trailing');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_typei1e5:piecei0ee')))).toBe('wire_metadata_size');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_typei1e5:piecei0e10:total_sizei4eeabc')))).toBe('wire_metadata_bad_length');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_typei1e5:piecei1e10:total_sizei3eeabc')))).toBe('wire_metadata_bad_piece');
    expect(codeOf(() => decodeMetadataMessage(concatBytes([encodeMetadataData(0, 20000, new Uint8Array(16383))])))).toBe('wire_metadata_bad_length');
    expect(codeOf(() => decodeMetadataMessage(utf8('d8:msg_type')))).toMatch(/^bencode_/);
  });

  it('serves pieces of our metadata and rejects what it cannot serve', () => {
    const info = new Uint8Array(16384 + 10).map((_, i) => i & 0xff);
    const p1 = decodeMetadataMessage(serveMetadataPiece(info, 1));
    expect(p1.type === 'data' && Array.from(p1.data)).toEqual(Array.from(info.subarray(16384)));
    expect(decodeMetadataMessage(serveMetadataPiece(info, 2))).toEqual({ type: 'reject', piece: 2 });
    expect(decodeMetadataMessage(serveMetadataPiece(undefined, 0))).toEqual({ type: 'reject', piece: 0 });
    expect(metadataPieceLength(16384, 0)).toBe(16384);
    expect(metadataPieceLength(16384, 1)).toBeUndefined();
  });
});
