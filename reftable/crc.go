package reftable

// crcNibble is the CRC-32 (IEEE, reflected polynomial 0xedb88320) of each
// 4-bit value: a table small enough to be a constant, so that no table is
// built when a program starts (hash/crc32 builds one in its init), for a
// checksum computed over one footer per table.
var crcNibble = [16]uint32{
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
}

// footerCRC returns the CRC-32 (IEEE) of b, as hash/crc32.ChecksumIEEE.
func footerCRC(b []byte) uint32 {
	crc := ^uint32(0)
	for _, c := range b {
		crc ^= uint32(c)
		crc = crc>>4 ^ crcNibble[crc&15]
		crc = crc>>4 ^ crcNibble[crc&15]
	}
	return ^crc
}
