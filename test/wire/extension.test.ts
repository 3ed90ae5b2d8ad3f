import { describe, expect, it } from 'vitest';
import {
  decodeExtendedHandshake,
  encodeExtendedHandshake,
  ExtensionRegistry,
  MAX_METADATA_SIZE,
} from '../../src/wire/extension.js';
import { fromUtf8, toHex, utf8 } from '../../src/util/bytes.js';
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

describe('BEP 10 extended handshake', () => {
  it('encodes the canonical dictionary with sorted keys', () => {
    const bytes = encodeExtendedHandshake({ m: { ut_metadata: 2, ut_pex: 1 }, v: 'dht-node', p: 6881, reqq: 500, metadataSize: 31235 });
    expect(fromUtf8(bytes)).toBe('d1:md11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei31235e1:pi6881e4:reqqi500e1:v8:dht-nodee');
  });

  it('decodes the BEP 10 example with yourip and ignores unknown keys', () => {
    const h = decodeExtendedHandshake(
      new Uint8Array(Buffer.from('d1:md11:LT_metadatai1e6:ut_pexi2ee1:pi6881e1:v12:uTorrent 1.26:yourip4:\x7f\x00\x00\x013:zzzi1ee', 'latin1')),
    );
    expect([...h.m]).toEqual([['LT_metadata', 1], ['ut_pex', 2]]);
    expect(h.p).toBe(6881);
    expect(h.v).toBe('uTorrent 1.2');
    expect(toHex(h.yourip ?? new Uint8Array())).toBe('7f000001');
    expect(h.metadataSize).toBeUndefined();
  });

  it('rejects a broken m and metadata_size out of bounds', () => {
    expect(codeOf(() => decodeExtendedHandshake(utf8('le')))).toBe('wire_ext_not_dict');
    expect(codeOf(() => decodeExtendedHandshake(utf8('d1:mi1ee')))).toBe('wire_ext_bad_m');
    expect(codeOf(() => decodeExtendedHandshake(utf8('d1:md11:ut_metadatai256eee')))).toBe('wire_ext_bad_id');
    expect(codeOf(() => decodeExtendedHandshake(utf8('d1:md11:ut_metadatai-1eee')))).toBe('wire_ext_bad_id');
    expect(codeOf(() => decodeExtendedHandshake(utf8('d1:md11:ut_metadata1:xee')))).toBe('wire_ext_bad_id');
    expect(codeOf(() => decodeExtendedHandshake(utf8(`d13:metadata_sizei${MAX_METADATA_SIZE + 1}ee`)))).toBe('wire_ext_metadata_size');
    expect(codeOf(() => decodeExtendedHandshake(utf8('d13:metadata_sizei0ee')))).toBe('wire_ext_metadata_size');
    expect(decodeExtendedHandshake(utf8(`d13:metadata_sizei${MAX_METADATA_SIZE}ee`)).metadataSize).toBe(MAX_METADATA_SIZE);
    expect(codeOf(() => decodeExtendedHandshake(utf8('d1:md')))).toBe('bencode_truncated');
  });

  it('drops malformed advisory fields instead of failing', () => {
    const h = decodeExtendedHandshake(utf8('d1:pi70000e4:reqqi0e1:vi3e6:yourip3:abce'));
    expect(h.p).toBeUndefined();
    expect(h.reqq).toBeUndefined();
    expect(h.v).toBeUndefined();
    expect(h.yourip).toBeUndefined();
  });

  it('tracks both sides of the id mapping, with 0 disabling', () => {
    const reg = new ExtensionRegistry({ ut_metadata: 3 });
    expect(reg.oursAsRecord()).toEqual({ ut_metadata: 3 });
    expect(reg.nameForIncoming(3)).toBe('ut_metadata');
    expect(reg.nameForIncoming(1)).toBeUndefined();
    reg.update(decodeExtendedHandshake(utf8('d1:md11:ut_metadatai7eee')));
    expect(reg.idForOutgoing('ut_metadata')).toBe(7);
    reg.update(decodeExtendedHandshake(utf8('d1:md11:ut_metadatai0eee')));
    expect(reg.idForOutgoing('ut_metadata')).toBeUndefined();
    expect(() => new ExtensionRegistry({ a: 1, b: 1 })).toThrowError(DecodeError);
    expect(() => new ExtensionRegistry({ a: 0 })).toThrowError(DecodeError);
  });
});
