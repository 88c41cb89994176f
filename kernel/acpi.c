/* acpi.c: which CPUs the machine has, from the firmware's tables: the ACPI MADT (ACPI spec,
 * "Multiple APIC Description Table": Processor Local APIC and Processor Local x2APIC entries
 * with their Enabled flag) found through the RSDP, RSDT or XSDT; and as fallback the Intel
 * MultiProcessor Specification's MP table (processor entries, "CPU enabled" flag). Only reads
 * memory below 4 GiB (identity-mapped); every table's checksum and length are checked. */
#include "defs.h"

struct sdt_hdr {
	char sig[4];
	u32 len;
	u8 rev, sum;
	char oem[6], oem_table[8];
	u32 oem_rev, creator, creator_rev;
} __attribute__((packed));

static bool sum_ok(const void *p, u64 n)
{
	u8 s = 0;
	for (u64 i = 0; i < n; i++)
		s += ((const u8 *)p)[i];
	return s == 0;
}

/* A 16-byte aligned signature with a valid checksum over `len` bytes in [start, end). */
static const u8 *scan(u64 start, u64 end, const char *sig, u64 len)
{
	for (u64 a = ALIGN_UP(start, 16); a + len <= end; a += 16)
		if (!memcmp((const void *)a, sig, strlen(sig)) && sum_ok((const void *)a, len))
			return (const u8 *)a;
	return NULL;
}

/* The EBDA (somewhere in 80000H-9FFFFH: its segment at 40:0EH is on page 0, which the
 * hypervisor leaves unmapped, so the whole range is scanned), then the BIOS area E0000H-FFFFFH. */
static const u8 *find_low(const char *sig, u64 len)
{
	const u8 *p = scan(0x80000, 0xa0000, sig, len);
	return p ? p : scan(0xe0000, 0x100000, sig, len);
}

static void add_cpu(struct smp_enum *e, u32 apic_id)
{
	for (u32 i = 0; i < e->n; i++)
		if (e->apic_id[i] == apic_id)
			return; /* listed twice (a LAPIC and an x2APIC entry) */
	if (e->n < SMP_MAX_CPUS)
		e->apic_id[e->n++] = apic_id;
	else
		e->ignored++;
}

static const struct sdt_hdr *sdt(u64 pa)
{
	const struct sdt_hdr *h = (const void *)pa;
	if (pa == 0 || pa >= (4UL << 30) - sizeof(*h) || h->len < sizeof(*h) || h->len > (1 << 20) ||
	    !sum_ok(h, h->len))
		return NULL;
	return h;
}

static const struct sdt_hdr *find_madt(void)
{
	const u8 *rsdp = find_low("RSD PTR ", 20);
	if (!rsdp)
		return NULL;
	u8 rev = rsdp[15];
	u64 xsdt = rev >= 2 && sum_ok(rsdp, *(const u32 *)(rsdp + 20)) ? *(const u64 *)(rsdp + 24) : 0;
	const struct sdt_hdr *root = xsdt && xsdt < (4UL << 30) ? sdt(xsdt) : NULL;
	u32 esize = 8;
	if (!root) {
		root = sdt(*(const u32 *)(rsdp + 16));
		esize = 4;
	}
	if (!root)
		return NULL;
	for (u64 off = sizeof(*root); off + esize <= root->len; off += esize) {
		const u8 *ent = (const u8 *)root + off;
		u64 pa = esize == 8 ? *(const u64 *)ent : *(const u32 *)ent;
		const struct sdt_hdr *h = pa < (4UL << 30) ? sdt(pa) : NULL;
		if (h && !memcmp(h->sig, "APIC", 4))
			return h;
	}
	return NULL;
}

/* 0 and the enabled CPUs, or -1 when there is no (valid) MADT. */
int acpi_madt_cpus(struct smp_enum *e)
{
	const struct sdt_hdr *m = find_madt();
	memset(e, 0, sizeof(*e));
	e->source = "none";
	if (!m || m->len < 44)
		return -1;
	const u8 *p = (const u8 *)m;
	e->lapic_base = *(const u32 *)(p + 36);
	for (u64 off = 44; off + 2 <= m->len && p[off + 1] >= 2; off += p[off + 1]) {
		const u8 *ent = p + off;
		if (off + ent[1] > m->len)
			break;
		if (ent[0] == 0 && ent[1] >= 8 && (*(const u32 *)(ent + 4) & 1)) /* Processor Local APIC */
			add_cpu(e, ent[3]);
		else if (ent[0] == 9 && ent[1] >= 16 && (*(const u32 *)(ent + 8) & 1)) /* Local x2APIC */
			add_cpu(e, *(const u32 *)(ent + 4));
		else if (ent[0] == 5 && ent[1] >= 12) /* Local APIC Address Override */
			e->lapic_base = *(const u64 *)(ent + 4);
	}
	e->source = "MADT";
	return e->n ? 0 : -1;
}

/* The MP floating pointer "_MP_" (16 bytes), its configuration table "PCMP": processor entries
 * (type 0, 20 bytes) with flags bit 0 = enabled; every other entry type is 8 bytes. */
int mp_table_cpus(struct smp_enum *e)
{
	const u8 *fp = find_low("_MP_", 16);
	memset(e, 0, sizeof(*e));
	e->source = "none";
	u32 cfg = fp ? *(const u32 *)(fp + 4) : 0;
	const u8 *t = (const u8 *)(u64)cfg;
	if (!cfg || memcmp(t, "PCMP", 4))
		return -1;
	u16 len = *(const u16 *)(t + 4), count = *(const u16 *)(t + 34);
	if (len < 44 || !sum_ok(t, len))
		return -1;
	e->lapic_base = *(const u32 *)(t + 36);
	u64 off = 44;
	for (u16 i = 0; i < count && off < len; i++) {
		const u8 *ent = t + off;
		if (ent[0] == 0) {
			if (off + 20 > len)
				break;
			if (ent[3] & 1)
				add_cpu(e, ent[1]);
			off += 20;
		} else {
			off += 8;
		}
	}
	e->source = "MP table";
	return e->n ? 0 : -1;
}
