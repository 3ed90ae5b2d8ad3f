// The npm `bencode` package ships no types; we use only its encoder (decoding is ours, see codec/bencode.ts).
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
  };
  export default bencode;
}
