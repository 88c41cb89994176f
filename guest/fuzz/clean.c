/* clean.c: target "clean": parses like tlv but checks every bound; it must never crash. */
#include "fuzz.h"

int fuzz_target_clean(const u8 *data, u64 size)
{
	u8 field[16];
	int sum = 0;
	for (u64 pos = 0; pos + 2 <= size;) {
		u8 type = data[pos], len = data[pos + 1];
		if (pos + 2 + len > size)
			break;
		for (u64 i = 0; i < len && i < sizeof(field); i++)
			field[i] = data[pos + 2 + i];
		sum += type == 7 && len ? field[0] : type;
		pos += 2 + len;
	}
	return sum & 0xff;
}
