// Package reftable reads and writes reftable files, the binary format git
// uses to store references and reflogs, byte-compatible with git.
//
// The package never touches the operating system: a [Table] reads from an
// [io.ReaderAt] and a size, a [Writer] writes to an [io.Writer]. Stacks of
// tables (the tables.list protocol) live in package stack.
//
// # File layout
//
// A table is a header, a sequence of blocks grouped in sections, and a
// footer. All fixed-width integers are big-endian.
//
//	+--------+---------------------+-----------+------------+-----------+-----------+--------+
//	| header | ref blocks ('r')    | ref index | obj blocks | obj index | log blocks| log    | footer
//	| 24/28  | padded to blocksize | ('i')     | ('o')      | ('i')     | ('g' zlib)| index  | 68/72
//	+--------+---------------------+-----------+------------+-----------+-----------+--------+
//
// Header (24 bytes in version 1, 28 in version 2):
//
//	'R' 'E' 'F' 'T' | version u8 | block_size u24 | min_update_index u64 | max_update_index u64 | [hash_id u32, v2]
//
// The header is also the first 24/28 bytes of the first block: in that block,
// block_len and restart offsets count from the start of the file.
//
// Block:
//
//	type u8 | block_len u24 | record... | restart_offset u24 ... | restart_count u16 | zero padding
//
// For log blocks everything after the 4-byte block header is one zlib stream,
// and block_len is the inflated length. Log blocks are never padded.
//
// Record (keys are prefix-compressed against the previous key; a record with
// prefix_length 0 is a restart point):
//
//	varint(prefix_length) | varint(suffix_length<<3 | value_type) | suffix | value
//
// Values: a ref is varint(update_index - min_update_index) followed by nothing
// (deletion), one object id, an object id and its peeled id, or a varint
// length and a symbolic target. A log key is refname NUL be64(^update_index)
// so that the newest entry of a ref sorts first; an update value is old id,
// new id, name, email, varint time, be16 time-zone offset, message. An obj
// record maps an abbreviated object id to the ref blocks that mention it; an
// index record maps the last key of a block to its file offset.
//
// Footer: a copy of the header, then ref_index_position, obj_position<<5 |
// obj_id_len, obj_index_position, log_position, log_index_position (u64
// each), then the CRC-32 (IEEE, as zlib's crc32) of the footer's preceding
// bytes.
//
// Varints are git's pack-offset varints: big-endian 7-bit groups with the
// high bit as continuation, where every continuation adds one, so each
// value has exactly one encoding.
//
// # Where git differs from its own specification
//
// The writer follows git: block_size is written to the header even for
// unpadded tables (WriterOptions.UnalignedHeader writes 0, as the
// specification asks); an index is written only for more than 3 blocks
// (more than 1 when unpadded); the log section starts right after the
// last block of the ref or obj section, without padding; the time-zone
// offset is stored as git's HHMM-as-decimal integer (-0800 is stored as
// -800). The reader accepts both padded and unpadded layouts and a table
// without log index.
//
// # What other writers do
//
// The reader also takes what the format allows and JGit writes, though
// git's writer never does:
//
//   - an index block longer than the block size (JGit writes an index
//     level in one block, up to the format's maximum of 16 MiB); padding
//     after it fills up to the next multiple of the block size;
//   - log blocks inflating to any length the block header states (JGit's
//     go past twice the block size); what a log block may inflate to is
//     bounded by its compressed bytes instead;
//   - a log-only table whose header stands alone: the first log block
//     starts right after the header, with a block length and restart
//     offsets of its own, and the footer's log_position is the header
//     size (git's first log block shares its bytes with the header, and
//     its log_position is 0).
package reftable

// Wire constants. These values are fixed by the file format and must never
// change.
const (
	magic = "REFT"

	headerSizeV1 = 24
	headerSizeV2 = 28
	footerSizeV1 = 68
	footerSizeV2 = 72

	blockTypeRef   = 'r'
	blockTypeObj   = 'o'
	blockTypeIndex = 'i'
	blockTypeLog   = 'g'

	formatIDSHA1   = 0x73686131 // "sha1"
	formatIDSHA256 = 0x73323536 // "s256"

	// maxRestarts is the most restart points one block can record.
	maxRestarts = 65535

	// MaxBlockSize is the largest block size a table can declare (u24).
	MaxBlockSize = 1<<24 - 1

	// DefaultBlockSize is git's default block size.
	DefaultBlockSize = 4096

	// DefaultRestartInterval is git's default restart interval.
	DefaultRestartInterval = 16
)

func headerSize(version int) int {
	if version == 1 {
		return headerSizeV1
	}
	return headerSizeV2
}

func footerSize(version int) int {
	if version == 1 {
		return footerSizeV1
	}
	return footerSizeV2
}
