/* gcov_data.c: the bytes of the coverage dump: one object's counters as a .gcda file (what
 * gcc 12's libgcov writes: header, object summary, a FUNCTION record and its arc counters per
 * function, a 0 word), CRC-32 and the dump stream's frames (gcov.h). Pure: no I/O, no globals
 * but the CRC table; the hypervisor's runtime (kernel/gcov.c) and the host's test of this
 * encoder against libgcov (tests/gcov/) both link it. Never instrumented itself. */
#include "gcov.h"

static u32 crc_table[256];

u32 gcov_crc32(u32 crc, const void *p, u64 n)
{
	const u8 *b = p;
	if (!crc_table[1]) /* CRC-32 as zlib computes it: reflected, polynomial 0xedb88320 */
		for (u32 i = 0; i < 256; i++) {
			u32 c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			crc_table[i] = c;
		}
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put(struct gcov_sink *s, const void *p, u64 n)
{
	if (s->put)
		s->put(s, p, n);
	s->crc = gcov_crc32(s->crc, p, n);
	s->bytes += n;
}

static void put_u32(struct gcov_sink *s, u32 v) { put(s, &v, 4); }

static void put_counter(struct gcov_sink *s, s64 v)
{
	put_u32(s, (u32)v);
	put_u32(s, (u32)((u64)v >> 32));
}

/* The function's record, or NULL where libgcov writes an empty one (another object's comdat). */
static const struct gcov_fn_info *own_fn(const struct gcov_info *info, u32 i)
{
	const struct gcov_fn_info *fn = info->functions[i];
	return fn && fn->key == info ? fn : NULL;
}

u64 gcov_info_sum(const struct gcov_info *info)
{
	u64 sum = 0;
	for (u32 i = 0; i < info->n_functions; i++) {
		const struct gcov_fn_info *fn = own_fn(info, i);
		for (u32 c = 0; fn && c < fn->ctrs[0].num; c++)
			sum += (u64)fn->ctrs[0].values[c];
	}
	return sum;
}

static s64 info_max(const struct gcov_info *info)
{
	s64 max = 0;
	for (u32 i = 0; i < info->n_functions; i++) {
		const struct gcov_fn_info *fn = own_fn(info, i);
		for (u32 c = 0; fn && c < fn->ctrs[0].num; c++)
			if (fn->ctrs[0].values[c] > max)
				max = fn->ctrs[0].values[c];
	}
	return max;
}

static bool all_zero(const struct gcov_ctr_info *c)
{
	for (u32 i = 0; i < c->num; i++)
		if (c->values[i])
			return false;
	return true;
}

/* As libgcov's write_one_data: the object summary has runs = 1 and the largest arc counter
 * (libgcov's is the largest of the whole program; gcov and lcov do not read it). Counters
 * that are all zero are written as a negative length and no values. */
static void write_gcda(struct gcov_sink *s, const struct gcov_info *info)
{
	put_u32(s, GCOV_DATA_MAGIC);
	put_u32(s, info->version);
	put_u32(s, info->stamp);
	put_u32(s, info->checksum);
	put_u32(s, GCOV_TAG_OBJECT_SUMMARY);
	put_u32(s, 8);
	put_u32(s, 1);
	put_u32(s, (u32)info_max(info));
	for (u32 i = 0; i < info->n_functions; i++) {
		const struct gcov_fn_info *fn = own_fn(info, i);
		put_u32(s, GCOV_TAG_FUNCTION);
		put_u32(s, fn ? 12 : 0);
		if (!fn)
			continue;
		put_u32(s, fn->ident);
		put_u32(s, fn->lineno_checksum);
		put_u32(s, fn->cfg_checksum);
		const struct gcov_ctr_info *c = &fn->ctrs[0];
		bool zero = all_zero(c);
		put_u32(s, GCOV_TAG_COUNTER_ARCS);
		put_u32(s, zero ? -(c->num * 8) : c->num * 8);
		for (u32 k = 0; !zero && k < c->num; k++)
			put_counter(s, c->values[k]);
	}
	put_u32(s, 0);
}

u64 gcov_gcda_size(const struct gcov_info *info)
{
	struct gcov_sink count = {0};
	write_gcda(&count, info);
	return count.bytes;
}

void gcov_gcda_write(struct gcov_sink *s, const struct gcov_info *info) { write_gcda(s, info); }

/* One frame: the data is either info's .gcda (info != NULL) or len bytes at data. */
void gcov_frame(struct gcov_sink *s, char kind, const char *name, const struct gcov_info *info,
		const void *data, u32 len)
{
	u32 name_len = 0;
	while (name[name_len])
		name_len++;
	put(s, GCOV_FRAME_MAGIC, 4);
	s->crc = 0;
	put(s, &kind, 1);
	put_u32(s, name_len);
	put(s, name, name_len);
	put_u32(s, info ? (u32)gcov_gcda_size(info) : len);
	if (info)
		write_gcda(s, info);
	else
		put(s, data, len);
	put_u32(s, s->crc);
}
