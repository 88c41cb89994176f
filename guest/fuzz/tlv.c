/* tlv.c: target "tlv": a type-length-value parser behind the magic "HVLB", checked byte by byte
 * (each byte is its own branch: coverage sees progress). Planted bug: a record of odd type copies
 * len + 1 bytes into a 4-byte field (an off-by-one write) that a canary byte follows; the
 * canary check after each record turns the overwrite into a panic. */
#include "fuzz.h"

#define FIELD 4
#define CANARY 0x5a

/* rec[0..FIELD) is the field, rec[FIELD] the canary (one array: the overflow is defined C). */
static int one_record(const u8 *v, u64 len, u8 type, u8 *rec)
{
	if (type == 1 && len >= 4)
		return v[0] + v[1];
	if ((type & 1) && len <= FIELD) { /* odd types: a value field */
		for (u64 i = 0; i <= len; i++) /* the bug: <= */
			rec[i] = v[i];
		return rec[0];
	}
	return 0;
}

int fuzz_target_tlv(const u8 *data, u64 size)
{
	u8 rec[FIELD + 1] = {[FIELD] = CANARY};
	if (size < 4 || data[0] != 'H')
		return 0;
	if (data[1] != 'V')
		return 0;
	if (data[2] != 'L')
		return 0;
	if (data[3] != 'B')
		return 0;
	int sum = 0;
	for (u64 pos = 4; pos + 2 <= size;) {
		u8 type = data[pos], len = data[pos + 1];
		if (pos + 2 + len > size)
			break;
		sum += one_record(data + pos + 2, len, type, rec);
		if (((volatile u8 *)rec)[FIELD] != CANARY)
			fuzz_panic(0x71);
		pos += 2 + len;
	}
	return sum & 0xff;
}
