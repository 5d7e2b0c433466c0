/**
 * CRC-32C (Castagnoli, the polynomial 0x1EDC6F41, reflected 0x82F63B78), as RFC 4960 Appendix B
 * computes it for SCTP and the PROXY protocol's PP2_TYPE_CRC32C TLV uses it (spec 2.2.3). Node's
 * zlib.crc32 is the other CRC-32 (IEEE 802.3), so this small table-driven one is ours.
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
