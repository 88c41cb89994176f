/* tlv.c: target "tlv": a type-length-value parser behind the magic "HVLB", checked byte by byte
 * (each byte is its own branch: coverage sees progress). Planted bug: a type-7 record copies
 * len + 1 bytes into a 16-byte field (an off-by-one write), which the canary check after it
 * turns into a panic. */
#include "fuzz.h"

struct rec {
	u8 field[16];
	u64 canary;
};
#define CANARY 0x5a5a5a5a5a5a5a5aUL

static int one_record(const u8 *v, u64 len, u8 type, struct rec *r)
{
	if (type == 1 && len >= 4)
		return v[0] + v[1];
	if (type == 7 && len <= sizeof(r->field)) {
		for (u64 i = 0; i <= len; i++) /* the bug: <= */
			r->field[i] = v[i];
		return r->field[0];
	}
	return 0;
}

int fuzz_target_tlv(const u8 *data, u64 size)
{
	struct rec r = {.canary = CANARY};
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
		if (pos + 2 + len + 1 > size)
			break;
		sum += one_record(data + pos + 2, len, type, &r);
		if (r.canary != CANARY)
			fuzz_panic(0x71);
		pos += 2 + len;
	}
	return sum & 0xff;
}
