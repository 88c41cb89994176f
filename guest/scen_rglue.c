/* scen_rglue.c: "regions_glue": what the hypervisor finishes itself when the interpreter stops
 * (vmm/emu_glue.c), with no instruction stepped on the CPU. Each case runs natively (the CPU is
 * the reference), then in a region over rgn_glue_page: RDRAND (its value and CF reach the
 * guest), INT3, INT $4 and INT1 (the handler's frame RIP is the next instruction), single steps
 * with RFLAGS.TF set and cleared by POPF (the same trap RIPs, DR6.BS), and a data breakpoint
 * (DR0/DR7: the trap after the store, DR6.B0; checked against the SDM when the CPU, e.g. a
 * Bochs built without hardware breakpoints, does not report one). */
#include "region.h"

extern char rgn_glue_page[], rgn_rand[], rgn_int3[], rgn_int3_next[], rgn_int4[], rgn_int4_next[];
extern char rgn_icebp[], rgn_icebp_next[], rgn_tf[], rgn_tf_steps[], rgn_dbstore[], rgn_dbstore_next[];
extern char rgn_tfrep[], rgn_tfrep_rep[];

#define DR6_B0 BIT(0)
#define DR6_BS BIT(14)
#define DR6_CLEAR 0xffff0ff0UL /* DR6 with no condition bit set */
#define RFLAGS_RF BIT(16)
#define MAX_TRAPS 8

static u64 rips[MAX_TRAPS], dr6s[MAX_TRAPS], rfl[MAX_TRAPS], ntraps;

static u64 read_dr6(void)
{
	u64 v;
	__asm__ volatile("mov %%db6, %0" : "=r"(v));
	return v;
}
static void write_dr(int n, u64 v)
{
	if (n == 0)
		__asm__ volatile("mov %0, %%db0" ::"r"(v));
	else if (n == 6)
		__asm__ volatile("mov %0, %%db6" ::"r"(v));
	else
		__asm__ volatile("mov %0, %%db7" ::"r"(v));
}

/* #DB, #BP, #OF: note RIP and DR6 (then clear DR6: its bits are sticky), resume. */
static bool note(struct trap_frame *f)
{
	if (ntraps < MAX_TRAPS) {
		rips[ntraps] = f->rip;
		dr6s[ntraps] = f->vector == 1 ? read_dr6() : 0;
		rfl[ntraps] = f->rflags;
	}
	ntraps++;
	if (f->vector == 1)
		write_dr(6, DR6_CLEAR);
	return true;
}

/* Run fn natively (emu = false) or in the region: the traps it took; *st gets the region's stats. */
static u64 run(void *fn, bool emu, struct rgn_regs *r, struct hv_region_stats *st)
{
	s64 id = emu ? rgn_add(rgn_glue_page, PAGE_SIZE) : -1;
	GEXPECT(!emu || id >= 0);
	ntraps = 0;
	write_dr(6, DR6_CLEAR);
	rgn_invoke(r, fn);
	if (emu) {
		*st = rgn_stats(id);
		rgn_remove(id);
	}
	return ntraps;
}

/* o: 0 RDRAND run (CPUID.1:ECX[30]), 1 its CF emulated; 2-4 INT3, INT $4, INT1: runs whose
 * handler saw the right RIP (2 each); 5, 6 TF traps native, emulated; 7 trap RIPs equal to the
 * expected ones in both; 8 emulated traps with DR6.BS; 9 data breakpoint seen natively (1/0),
 * 10 emulated with the right RIP and B0 (1/0); 11 stepped, 12 unsupported, 13 entries (all
 * emulated cases); TF over REP STOSB: 14 trap RIPs right (14), RF in the frames (bit k: trap k)
 * 15 native, 16 emulated. */
void scen_regions_glue(struct hv_boot_info *bi)
{
	unsigned long long *o = bi->out;
	struct hv_region_stats st, sum = {0};
	struct rgn_regs r;
	static const int vectors[] = {1, 3, 4};
	for (u32 i = 0; i < ARRAY_SIZE(vectors); i++)
		guest_trap_set_handler(vectors[i], note);
#define ADD(s) (sum.stepped += (s).stepped, sum.unsupported += (s).unsupported, sum.entries += (s).entries)

	o[0] = (cpuid_ecx(1) >> 30) & 1;
	if (o[0]) {
		for (int emu = 0; emu < 2; emu++) {
			r = (struct rgn_regs){.rflags = 2};
			r.gpr[0] = 0x5e5e5e5e5e5e5e5eUL;
			run(rgn_rand, emu, &r, &st);
			u64 cf = r.gpr[1] & 0xff;
			guest_printf("regions_glue: RDRAND %s: CF %lu, RAX %s\n", emu ? "emulated" : "native", cf,
				     r.gpr[0] == 0x5e5e5e5e5e5e5e5eUL ? "unchanged" : "written");
			GEXPECT(cf ? r.gpr[0] != 0x5e5e5e5e5e5e5e5eUL : r.gpr[0] == 0);
			if (emu)
				o[1] = cf, ADD(st);
		}
	} else {
		guest_printf("regions_glue: no RDRAND on this CPU (CPUID.1:ECX[30] = 0): skipped\n");
		GEXPECT(1);
	}

	static const struct {
		char *fn, *next;
	} ints[] = {{rgn_int3, rgn_int3_next}, {rgn_int4, rgn_int4_next}, {rgn_icebp, rgn_icebp_next}};
	for (u32 i = 0; i < ARRAY_SIZE(ints); i++) {
		o[2 + i] = 0;
		for (int emu = 0; emu < 2; emu++) {
			r = (struct rgn_regs){.rflags = 2};
			u64 n = run(ints[i].fn, emu, &r, &st);
			guest_printf("regions_glue: %s %s: %lu trap(s), RIP %s\n", i == 0 ? "INT3" : i == 1 ? "INT $4" : "INT1",
				     emu ? "emulated" : "native", n, rips[0] == (u64)ints[i].next ? "next" : "wrong");
			GEXPECT_EQ(n, 1);
			GEXPECT_EQ(rips[0], (u64)ints[i].next);
			o[2 + i] += n == 1 && rips[0] == (u64)ints[i].next;
			if (emu)
				ADD(st);
		}
	}

	static const u64 steps[] = {0, 1, 2, 10, 11}; /* offsets from rgn_tf_steps */
	o[7] = o[8] = 0;
	for (int emu = 0; emu < 2; emu++) {
		r = (struct rgn_regs){.rflags = 2};
		u64 n = run(rgn_tf, emu, &r, &st);
		o[5 + emu] = n;
		for (u32 k = 0; k < ARRAY_SIZE(steps) && k < n; k++) {
			o[7] += rips[k] == (u64)rgn_tf_steps + steps[k];
			o[8] += emu && (dr6s[k] & DR6_BS);
		}
		guest_printf("regions_glue: TF %s: %lu traps, RIPs +%lx +%lx +%lx +%lx +%lx from the second NOP\n",
			     emu ? "emulated" : "native", n, rips[0] - (u64)rgn_tf_steps, rips[1] - (u64)rgn_tf_steps,
			     rips[2] - (u64)rgn_tf_steps, rips[3] - (u64)rgn_tf_steps, rips[4] - (u64)rgn_tf_steps);
		GEXPECT_EQ(n, ARRAY_SIZE(steps));
		GEXPECT_EQ(r.rflags & BIT(8), 0);
		if (emu)
			ADD(st);
	}
	GEXPECT_EQ(o[7], 2 * ARRAY_SIZE(steps));
	GEXPECT_EQ(o[8], ARRAY_SIZE(steps));

	/* TF over REP STOSB: a trap after each iteration; RF = 1 in the frames of those but the last
	 * (SDM "Instruction-Breakpoint Exception Condition": trap-class exceptions of a REP string
	 * iteration but the last push RF = 1) */
	static const u64 rsteps[] = {0, 0, 0, 2, 3, 11, 12}; /* offsets from rgn_tfrep_rep */
	static u8 buf[8];
	u64 rf[2] = {0, 0}, rips_ok = 0;
	for (int emu = 0; emu < 2; emu++) {
		r = (struct rgn_regs){.rflags = 2};
		r.gpr[7] = (u64)buf, r.gpr[0] = 0x77;
		u64 n = run(rgn_tfrep, emu, &r, &st);
		for (u32 k = 0; k < ARRAY_SIZE(rsteps) && k < n; k++) {
			rips_ok += rips[k] == (u64)rgn_tfrep_rep + rsteps[k];
			rf[emu] |= !!(rfl[k] & RFLAGS_RF) << k;
		}
		guest_printf("regions_glue: TF over REP STOSB %s: %lu traps, RF in frames %lx (bit k: trap k)\n",
			     emu ? "emulated" : "native", n, rf[emu]);
		GEXPECT_EQ(n, ARRAY_SIZE(rsteps));
		GEXPECT(buf[0] == 0x77 && buf[2] == 0x77);
		if (emu)
			ADD(st);
	}
	GEXPECT_EQ(rips_ok, 2 * ARRAY_SIZE(rsteps));
	GEXPECT_EQ(rf[1], 6); /* traps 1 and 2 */
	o[14] = rips_ok, o[15] = rf[0], o[16] = rf[1];

	/* DR0 = the word, DR7: L0, R/W0 = 01 (writes), LEN0 = 11 (4 bytes), bit 10 (reserved, 1) */
	static volatile u32 word;
	for (int emu = 0; emu < 2; emu++) {
		r = (struct rgn_regs){.rflags = 2};
		r.gpr[7] = (u64)&word;
		write_dr(0, (u64)&word);
		write_dr(7, 0x400 | BIT(0) | (1UL << 16) | (3UL << 18));
		u64 n = run(rgn_dbstore, emu, &r, &st);
		write_dr(7, 0x400);
		bool right = n == 1 && rips[0] == (u64)rgn_dbstore_next && (dr6s[0] & DR6_B0);
		guest_printf("regions_glue: data breakpoint %s: %lu trap(s), RIP %s, DR6 %lx\n",
			     emu ? "emulated" : "native", n, n && rips[0] == (u64)rgn_dbstore_next ? "after the store" : "-",
			     n ? dr6s[0] : 0);
		o[9 + emu] = right;
		if (emu) {
			GEXPECT(right); /* SDM "Data Memory and I/O Breakpoint Exception Conditions" */
			ADD(st);
		}
	}
	if (!o[9])
		guest_printf("regions_glue: the CPU reported no data breakpoint natively: the emulated one is "
			     "checked against the SDM only\n");

	for (u32 i = 0; i < ARRAY_SIZE(vectors); i++)
		guest_trap_set_handler(vectors[i], NULL);
	o[11] = sum.stepped, o[12] = sum.unsupported, o[13] = sum.entries;
	GEXPECT_EQ(sum.stepped, 0);
	GEXPECT_EQ(sum.unsupported, 0);
}
