import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encode, type EncodableValue } from '../../src/codec/bencode.js';
import {
  MAX_TOTAL_LENGTH,
  parseInfoDictionary,
  parseMetainfo,
  pieceHash,
  pieceSize,
} from '../../src/codec/metainfo.js';
import { createInfo, encodeTorrent } from '../../src/codec/metainfo-builder.js';
import { DecodeError } from '../../src/util/errors.js';
import { bytesEqual, concatBytes, toHex, utf8 } from '../../src/util/bytes.js';
import { hashPieces, makeTorrent } from '../support/torrent-fixture.js';

const sha1 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha1').update(b).digest());

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).code;
  }
}

/** Parses a torrent whose info dictionary is `info` (with fields replaced/removed by `patch`). */
function withInfo(patch: Record<string, EncodableValue | undefined>): string | undefined {
  const base = makeTorrent({ files: [{ path: ['a.bin'], length: 40000 }] }).info;
  const info = { ...base, ...patch };
  return codeOf(() => parseMetainfo(encode({ info })));
}

describe('parseMetainfo: single file', () => {
  const fx = makeTorrent({ files: [{ path: ['movie.mkv'], length: 100_000 }], pieceLength: 32768, seed: 7 });

  it('reads the fields and hashes the raw info bytes', () => {
    const m = fx.metainfo;
    expect(m.name).toBe('movie.mkv');
    expect(m.multiFile).toBe(false);
    expect(m.pieceLength).toBe(32768);
    expect(m.pieceCount).toBe(4);
    expect(m.totalLength).toBe(100_000);
    expect(m.files).toEqual([{ path: ['movie.mkv'], length: 100_000, offset: 0 }]);
    expect(m.trackers).toEqual(['http://127.0.0.1:6969/announce']);
    expect(m.private).toBe(false);
    expect(toHex(m.infoHash)).toBe(toHex(sha1(encode(fx.info))));
    expect(bytesEqual(m.infoBytes, encode(fx.info))).toBe(true);
  });

  it('gives piece hashes and sizes, with the odd last piece', () => {
    const m = fx.metainfo;
    expect(pieceSize(m, 0)).toBe(32768);
    expect(pieceSize(m, 3)).toBe(100_000 - 3 * 32768);
    expect(toHex(pieceHash(m, 3))).toBe(toHex(sha1(fx.content.subarray(3 * 32768))));
    expect(() => pieceHash(m, 4)).toThrow(RangeError);
    expect(() => pieceSize(m, -1)).toThrow(RangeError);
  });
});

describe('parseMetainfo: multi-file', () => {
  it('lays files out with offsets under the torrent folder', () => {
    const fx = makeTorrent({
      name: 'album',
      files: [
        { path: ['cd1', '01.flac'], length: 20000 },
        { path: ['empty.txt'], length: 0 },
        { path: ['cd2', '01.flac'], length: 30001 },
      ],
    });
    const m = fx.metainfo;
    expect(m.multiFile).toBe(true);
    expect(m.files).toEqual([
      { path: ['album', 'cd1', '01.flac'], length: 20000, offset: 0 },
      { path: ['album', 'empty.txt'], length: 0, offset: 20000 },
      { path: ['album', 'cd2', '01.flac'], length: 30001, offset: 20000 },
    ]);
    expect(m.totalLength).toBe(50001);
    expect(m.pieceCount).toBe(Math.ceil(50001 / 16384));
  });

  it('prefers name.utf-8 and path.utf-8', () => {
    const fx = makeTorrent({ name: 'x', files: [{ path: ['a'], length: 10 }, { path: ['b'], length: 10 }] });
    const info = { ...fx.info, 'name.utf-8': utf8('Über'), files: [{ length: 10, path: ['a'], 'path.utf-8': ['ä'] }, { length: 10, path: ['b'] }] };
    const m = parseMetainfo(encode({ info }));
    expect(m.name).toBe('Über');
    expect(m.files.map((f) => f.path.join('/'))).toEqual(['Über/ä', 'Über/b']);
  });

  it('reads announce-list tiers, skipping malformed entries', () => {
    const fx = makeTorrent({ files: [{ path: ['a'], length: 10 }] });
    const torrent = encode({
      announce: 'http://ignored/announce',
      'announce-list': [['http://t1/a', 5, 'udp://t2:80'], 'not-a-tier', [], ['http://t1/a']],
      comment: 'hello',
      'created by': 'test',
      'creation date': 1_700_000_000,
      info: { ...fx.info, private: 1 },
    });
    const m = parseMetainfo(torrent);
    expect(m.announceList).toEqual([['http://t1/a', 'udp://t2:80'], ['http://t1/a']]);
    expect(m.trackers).toEqual(['http://t1/a', 'udp://t2:80']);
    expect(m.comment).toBe('hello');
    expect(m.createdBy).toBe('test');
    expect(m.creationDate).toBe(1_700_000_000);
    expect(m.private).toBe(true);
  });
});

describe('infohash from the raw bytes', () => {
  it('keeps the hash of an info dictionary with unsorted keys and unknown fields', () => {
    const content = new Uint8Array(20000).fill(7);
    const pieces = hashPieces(content, 16384);
    // Keys deliberately out of order, plus an unknown key: a re-encode would sort and change the hash.
    const rawInfo = concatBytes([
      utf8('d4:name5:x.bin12:piece lengthi16384e6:lengthi20000e1:zi1e6:pieces40:'),
      pieces,
      utf8('e'),
    ]);
    const torrent = concatBytes([utf8('d8:announce9:http://t/4:info'), rawInfo, utf8('e')]);
    const m = parseMetainfo(torrent);
    expect(toHex(m.infoHash)).toBe(toHex(sha1(rawInfo)));
    const reencoded = encode({ name: 'x.bin', 'piece length': 16384, length: 20000, z: 1, pieces });
    expect(toHex(m.infoHash)).not.toBe(toHex(sha1(reencoded)));
    // encodeTorrent splices raw info bytes verbatim, so the hash survives a rebuild.
    const rebuilt = parseMetainfo(encodeTorrent({ info: m.infoBytes, trackers: ['http://other/'] }));
    expect(toHex(rebuilt.infoHash)).toBe(toHex(m.infoHash));
    expect(rebuilt.trackers).toEqual(['http://other/']);
  });

  it('parseInfoDictionary verifies BEP 9 metadata against the expected hash', () => {
    const fx = makeTorrent({ files: [{ path: ['f'], length: 5000 }] });
    const ok = parseInfoDictionary(fx.metainfo.infoBytes, { expectedInfoHash: fx.metainfo.infoHash });
    expect(toHex(ok.infoHash)).toBe(toHex(fx.metainfo.infoHash));
    expect(ok.files).toEqual(fx.metainfo.files);
    const wrong = new Uint8Array(20);
    expect(codeOf(() => parseInfoDictionary(fx.metainfo.infoBytes, { expectedInfoHash: wrong }))).toBe('metainfo_infohash_mismatch');
    expect(codeOf(() => parseInfoDictionary(utf8('le')))).toBe('metainfo_no_info');
  });
});

describe('createInfo and encodeTorrent', () => {
  it('builds single and multi-file torrents that parse back', () => {
    const content = new Uint8Array(40000).fill(1);
    const pieces = hashPieces(content, 16384);
    const single = parseMetainfo(encodeTorrent({ info: createInfo({ name: 's', pieceLength: 16384, pieces, length: 40000 }), comment: 'c', createdBy: 'me', creationDate: 5 }));
    expect(single.totalLength).toBe(40000);
    expect(single.comment).toBe('c');
    expect(single.creationDate).toBe(5);
    const multi = parseMetainfo(
      encodeTorrent({
        info: createInfo({ name: 'm', pieceLength: 16384, pieces, files: [{ path: ['a'], length: 1 }, { path: ['d', 'b'], length: 39999 }], private: true }),
        trackers: ['http://a/', 'http://b/'],
      }),
    );
    expect(multi.files.map((f) => f.path.join('/'))).toEqual(['m/a', 'm/d/b']);
    expect(multi.private).toBe(true);
    expect(multi.announceList).toEqual([['http://a/'], ['http://b/']]);
    expect(() => createInfo({ name: 'x', pieceLength: 16384, pieces })).toThrow(/exactly one/);
  });
});

describe('hostile metainfo', () => {
  it('refuses wrong types', () => {
    expect(withInfo({ 'piece length': utf8('16384') })).toBe('metainfo_bad_piece_length');
    expect(withInfo({ pieces: 5 })).toBe('metainfo_bad_pieces');
    expect(withInfo({ name: ['a'] })).toBe('metainfo_bad_name');
    expect(withInfo({ length: utf8('1') })).toBe('metainfo_bad_length');
    expect(withInfo({ length: undefined, files: utf8('x') })).toBe('metainfo_bad_files');
    expect(withInfo({ length: undefined, files: [5] })).toBe('metainfo_bad_files');
    expect(withInfo({ length: undefined, files: [{ length: 40000, path: utf8('a') }] })).toBe('metainfo_bad_path');
    expect(withInfo({ length: undefined, files: [{ length: 40000, path: [5] }] })).toBe('metainfo_bad_path');
    expect(codeOf(() => parseMetainfo(encode(['info'])))).toBe('metainfo_not_dict');
    expect(codeOf(() => parseMetainfo(encode({ announce: 'x' })))).toBe('metainfo_no_info');
    expect(codeOf(() => parseMetainfo(encode({ info: 5 })))).toBe('metainfo_no_info');
  });

  it('refuses bad lengths and geometry', () => {
    expect(withInfo({ 'piece length': 16000 })).toBe('metainfo_bad_piece_length');
    expect(withInfo({ 'piece length': 8192 })).toBe('metainfo_bad_piece_length');
    expect(withInfo({ 'piece length': 2 ** 27 })).toBe('metainfo_bad_piece_length');
    expect(withInfo({ 'piece length': 0 })).toBe('metainfo_bad_piece_length');
    expect(withInfo({ pieces: new Uint8Array(59) })).toBe('metainfo_bad_pieces');
    expect(withInfo({ pieces: new Uint8Array(0) })).toBe('metainfo_bad_pieces');
    expect(withInfo({ pieces: new Uint8Array(40) })).toBe('metainfo_bad_pieces'); // 40000 bytes need 3 pieces
    expect(withInfo({ length: -1 })).toBe('metainfo_bad_length');
    expect(withInfo({ length: 0 })).toBe('metainfo_empty');
    expect(withInfo({ length: MAX_TOTAL_LENGTH + 1 })).toBe('metainfo_bad_length');
    expect(withInfo({ length: 2 ** 53 - 1 })).toBe('metainfo_bad_length');
    expect(withInfo({ files: [{ length: 40000, path: ['a'] }] })).toBe('metainfo_ambiguous');
    expect(withInfo({ length: undefined, files: [] })).toBe('metainfo_bad_files');
    const huge = [{ length: MAX_TOTAL_LENGTH, path: ['a'] }, { length: MAX_TOTAL_LENGTH, path: ['b'] }];
    expect(withInfo({ length: undefined, files: huge })).toBe('metainfo_too_large');
  });

  it('refuses names and paths that try to leave the folder', () => {
    const multi = (path: EncodableValue): string | undefined => withInfo({ length: undefined, files: [{ length: 40000, path }] });
    expect(multi(['..', 'etc', 'passwd'])).toBe('metainfo_path_escape');
    expect(multi(['a', '..', '..', 'b'])).toBe('metainfo_path_escape');
    expect(multi(['/etc/passwd'])).toBe('metainfo_path_escape');
    expect(multi(['a\\..\\..\\b'])).toBe('metainfo_path_escape');
    expect(multi(['.'])).toBe('metainfo_path_escape');
    expect(multi(['a\0b'])).toBe('metainfo_path_escape');
    expect(multi(['', ''])).toBe('metainfo_bad_path');
    expect(withInfo({ name: '..' })).toBe('metainfo_path_escape');
    expect(withInfo({ name: '/tmp/x' })).toBe('metainfo_path_escape');
    expect(withInfo({ name: '' })).toBe('metainfo_bad_path');
    expect(withInfo({ 'name.utf-8': '..' })).toBe('metainfo_path_escape');
  });

  it('refuses duplicate files and a file that is also a folder', () => {
    const files = (...paths: string[][]): string | undefined =>
      withInfo({ length: undefined, files: paths.map((path, i) => ({ length: i === 0 ? 40000 : 0, path })) });
    expect(files(['a'], ['a'])).toBe('metainfo_duplicate_path');
    expect(files(['a'], ['', 'a'])).toBe('metainfo_duplicate_path');
    expect(files(['a'], ['a', 'b'])).toBe('metainfo_duplicate_path');
    expect(files(['x', 'y'], ['x', 'y', 'z'])).toBe('metainfo_duplicate_path');
    expect(files(['x', 'y'], ['x', 'z'])).toBeUndefined();
  });

  it('marks BEP 47 padding files, which may share a name', () => {
    const fx = makeTorrent({ files: [{ path: ['a'], length: 40000 }] });
    const info = {
      ...fx.info,
      length: undefined,
      files: [
        { length: 10000, path: ['a'] },
        { attr: 'p', length: 6384, path: ['.pad', '6384'] },
        { length: 10000, path: ['b'] },
        { attr: 'p', length: 6384, path: ['.pad', '6384'] },
        { length: 7232, path: ['c'], attr: 'x' },
      ],
    };
    const m = parseMetainfo(encode({ info }));
    expect(m.files.map((f) => f.padding === true)).toEqual([false, true, false, true, false]);
    expect(m.totalLength).toBe(40000);
  });

  it('refuses v2-only torrents and oversized input', () => {
    expect(withInfo({ pieces: undefined, 'meta version': 2, 'file tree': {} })).toBe('metainfo_v2_only');
    expect(codeOf(() => parseMetainfo(new Uint8Array(33 * 1024 * 1024)))).toBe('metainfo_too_large');
  });

  it('replaces characters the platform cannot store instead of refusing', () => {
    const fx = makeTorrent({ files: [{ path: ['a'], length: 10 }] });
    const info = { ...fx.info, name: 'x:y?z\u0001' };
    expect(parseMetainfo(encode({ info }), { platform: 'win32' }).name).toBe('x_y_z_');
    expect(parseMetainfo(encode({ info }), { platform: 'posix' }).name).toBe('x:y?z_');
  });

  it('throws only DecodeError on mutated and random input (fuzz, fixed seed)', () => {
    const fx = makeTorrent({ name: 'fz', files: [{ path: ['a', 'b'], length: 20000 }, { path: ['c'], length: 100 }] });
    const base = fx.torrent;
    const mutated = fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(mutated, fc.nat({ max: base.length }), (edits, cut) => {
        const bytes = base.slice(0, Math.max(cut, base.length - 3));
        for (const [pos, value] of edits) if (pos < bytes.length) bytes[pos] = value;
        try {
          const m = parseMetainfo(bytes);
          // Whatever parses is consistent.
          expect(m.pieceCount * 20).toBe(m.pieces.length);
          expect(m.files.reduce((n, f) => n + f.length, 0)).toBe(m.totalLength);
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      }),
      { seed: 4242, numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          parseMetainfo(concatBytes([utf8('d4:infod'), bytes]));
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      }),
      { seed: 99, numRuns: 2000 },
    );
  });

  it('throws only DecodeError on structurally random info dictionaries (fuzz, fixed seed)', () => {
    const leaf = fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.constantFrom('a', '..', '', '/x', 'name'), fc.uint8Array({ maxLength: 45 }));
    const value = fc.letrec<{ v: EncodableValue }>((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('length', 'path', 'name', 'files', 'pieces', 'piece length'), tie('v'), { maxKeys: 4 })),
    })).v;
    const info = fc.record(
      { name: value, 'piece length': fc.oneof(fc.constant(16384), value), pieces: fc.oneof(fc.constant(new Uint8Array(20)), value), length: value, files: value },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(info, (i) => {
        try {
          parseMetainfo(encode({ info: i }));
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
        }
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
