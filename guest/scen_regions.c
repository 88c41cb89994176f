/* scen_regions.c: emulated regions from the guest's side. "regions_same": each workload of
 * rgn_work.S (checksum loop, recursive Fibonacci, REP string instructions, a call out of the
 * region and back in, a ring-3 process with its own CR3) runs natively, then inside a region
 * covering exactly its pages; registers, flags and memory must be identical, and the region's
 * stats must show one VM exit per entry. "regions_cpu": what the interpreter leaves to the CPU.
 * "regions_bad": refused hypercalls. "regions_log": the access log. Faults are in
 * scen_rfault.c, the differential test in scen_rdiff.c. */
#include "region.h"

struct hv_exit_stats rgn_exit_stats;

s64 rgn_add(void *gva, u64 size) { return hc3(HC_REGION_ADD, HV_TRAP_GVA, (u64)gva, size); }

void rgn_remove(s64 id) { GEXPECT_EQ(hc1(HC_REGION_REMOVE, id), 0); }

struct hv_region_stats rgn_stats(s64 id)
{
	struct hv_region_stats st = {0};
	GEXPECT_EQ(hc2(HC_REGION_STATS, id, (u64)&st), sizeof(st));
	return st;
}

/* How many of the 16 GPRs and RFLAGS (under flags_mask) differ. */
u64 rgn_regs_diff(const struct rgn_regs *a, const struct rgn_regs *b, u64 flags_mask)
{
	u64 n = 0;
	for (int i = 0; i < 16; i++)
		n += a->gpr[i] != b->gpr[i];
	return n + ((a->rflags ^ b->rflags) & flags_mask ? 1 : 0);
}

void rgn_regs_print(const char *what, const struct rgn_regs *r)
{
	guest_printf("%s: rflags=%lx\n", what, r->rflags);
	for (int i = 0; i < 16; i += 4)
		guest_printf("  r%d-%d: %016lx %016lx %016lx %016lx\n", i, i + 3, r->gpr[i], r->gpr[i + 1],
			     r->gpr[i + 2], r->gpr[i + 3]);
}

/* The ring-3 process's address space. Its pages are scratch pages 20-22 (identity-mapped,
 * supervisor, in the kernel's map too). */
static u64 upml4[512] __attribute__((aligned(4096)));
static u64 updpt[512] __attribute__((aligned(4096)));
static u64 upd[512] __attribute__((aligned(4096)));
static u64 upt[512] __attribute__((aligned(4096)));
#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_U BIT(2)
#define PTE_NX BIT(63)

u64 rgn_user_space(void)
{
	const u64 *kpml4 = (const u64 *)(read_cr3() & ~0xfffUL);
	u64 code = GUEST_SCRATCH_PAGE(20), data = GUEST_SCRATCH_PAGE(21), stack = GUEST_SCRATCH_PAGE(22);
	upml4[0] = kpml4[0]; /* the kernel's map: IDT, GDT, stacks, the trampoline in .utext */
	upml4[1] = (u64)updpt | PTE_P | PTE_W | PTE_U;
	updpt[0] = (u64)upd | PTE_P | PTE_W | PTE_U;
	upd[0] = (u64)upt | PTE_P | PTE_W | PTE_U;
	upt[0] = code | PTE_P | PTE_U;                  /* RX */
	upt[1] = data | PTE_P | PTE_W | PTE_U | PTE_NX; /* RW */
	upt[2] = stack | PTE_P | PTE_W | PTE_U | PTE_NX;
	memset((void *)code, 0xcc, PAGE_SIZE);
	memcpy((void *)code, rgn_user_prog, rgn_user_end - rgn_user_prog);
	return (u64)upml4;
}

/* Runs entry(arg) at CPL 3 in address space cr3; if m is given: the VM exits and TSC cycles
 * of the ring-3 call (CPL 3 and back included, the CR3 loads not). */
u64 rgn_user_run(u64 cr3, u64 entry, u64 arg, struct rgn_measure *m)
{
	u64 kcr3 = read_cr3();
	write_cr3(cr3);
	u64 e0 = m ? guest_exits(&rgn_exit_stats) : 0, t0 = rdtsc();
	u64 r = guest_user_call((u64(*)(void *))entry, (void *)arg, (void *)RGN_USER_STACK_TOP);
	u64 t1 = rdtsc();
	if (m)
		m->exits = guest_exits(&rgn_exit_stats) - e0 - 1, m->tsc = t1 - t0;
	write_cr3(kcr3);
	return r;
}

/* ---- regions_same ---- */

#define BUF_BYTES 0x1000
static u8 buf[BUF_BYTES] __attribute__((aligned(4096)));
static u8 saved[BUF_BYTES];

enum { W_CHECKSUM, W_FIB, W_STRINGS, W_CALLOUT, W_USER, W_N };
struct workload {
	const char *name;
	void *page;     /* the region: [page, page + 4 KiB) */
	void *fn;
	u64 entries;    /* region entries in one run */
	u64 insns;      /* instructions it executes, 0: not counted by hand */
};
static const struct workload works[W_N] = {
	[W_CHECKSUM] = {"checksum", rgn_text_start, rgn_checksum, 1, 3 + 13 * 512 + 1},
	/* fib(15): 986 inner calls of 15 instructions, 987 leaves of 4 */
	[W_FIB] = {"fib", rgn_fib_page, rgn_fib, 1, 986 * 15 + 987 * 4},
	[W_STRINGS] = {"strings", rgn_strings_page, rgn_strings, 1, 0},
	/* in: push mov mov lea call; back in: lea ret; back again: add pop ret */
	[W_CALLOUT] = {"callout", rgn_callout_page, rgn_callout, 3, 10},
	/* push mov xor mov, 64 x 5, call, xor mov ret, lea mov mov mov, 128 STOSB, mov pop ret */
	[W_USER] = {"user", (void *)RGN_USER_CODE, (void *)RGN_USER_CODE, 1, 4 + 64 * 5 + 1 + 3 + 4 + 128 + 3},
};

static void fill(u8 *b, u64 n, u64 seed)
{
	for (u64 i = 0; i < n; i++)
		b[i] = (u8)((i * 37 + seed) ^ (i >> 7));
}

static void regs_for(struct rgn_regs *r, int w)
{
	for (int i = 0; i < 16; i++)
		r->gpr[i] = 0x0101010101010101UL * (u64)(i + 1) ^ (u64)w << 40;
	r->rflags = 0x2 | 0x1 | 0x40; /* CF, ZF */
	if (w == W_CHECKSUM)
		r->gpr[7] = (u64)buf, r->gpr[6] = BUF_BYTES / 8;
	else if (w == W_FIB)
		r->gpr[7] = 15;
	else if (w == W_STRINGS)
		r->gpr[7] = (u64)buf;
	else if (w == W_CALLOUT)
		r->gpr[7] = (u64)rgn_normal, r->gpr[6] = 41;
}

struct run {
	struct rgn_measure m;
	u64 rax;
	struct rgn_regs regs;
};

/* One run of workload w (kernel workloads through rgn_invoke; the ring-3 one through
 * rgn_user_run, comparing RAX and its data page). */
static void run(int w, u64 ucr3, struct run *out)
{
	u8 *mem = w == W_USER ? (u8 *)GUEST_SCRATCH_PAGE(21) : buf;
	fill(mem, BUF_BYTES, (u64)w);
	regs_for(&out->regs, w);
	if (w == W_USER) {
		out->rax = rgn_user_run(ucr3, RGN_USER_CODE, RGN_USER_DATA, &out->m);
		return;
	}
	u64 e0 = guest_exits(&rgn_exit_stats), t0 = rdtsc();
	out->rax = rgn_invoke(&out->regs, works[w].fn);
	out->m.tsc = rdtsc() - t0;
	out->m.exits = guest_exits(&rgn_exit_stats) - e0 - 1;
}

/* out[6w..6w+5]: native TSC, emulated TSC, instructions, entries, stats.exits, exits seen by
 * HC_GET_STATS during the emulated run. */
static u64 same_one(int w, u64 ucr3, unsigned long long *o)
{
	const struct workload *wl = &works[w];
	struct run nat, emu;
	u8 *mem = w == W_USER ? (u8 *)GUEST_SCRATCH_PAGE(21) : buf;
	run(w, ucr3, &nat);
	memcpy(saved, mem, BUF_BYTES);
	u64 kcr3 = read_cr3();
	if (w == W_USER)
		write_cr3(ucr3); /* a GVA region is translated with the CR3 of the call */
	s64 id = rgn_add(wl->page, PAGE_SIZE);
	write_cr3(kcr3);
	GEXPECT(id >= 0);
	run(w, ucr3, &emu);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	u64 bad = memcmp(saved, mem, BUF_BYTES) != 0;
	if (w == W_USER)
		bad += nat.rax != emu.rax;
	else
		bad += rgn_regs_diff(&nat.regs, &emu.regs, RGN_FLAGS_CMP);
	guest_printf("regions_same: %s: native %lu cycles, emulated %lu (%lu instructions, %llu entries, "
		     "%llu exits; %lu seen), %lu differences\n",
		     wl->name, nat.m.tsc, emu.m.tsc, (u64)st.instructions, st.entries, st.exits, emu.m.exits, bad);
	if (bad && w != W_USER) {
		rgn_regs_print("native", &nat.regs);
		rgn_regs_print("emulated", &emu.regs);
	}
	GEXPECT_EQ(bad, 0);
	GEXPECT(st.instructions > 0);
	if (wl->insns)
		GEXPECT_EQ(st.instructions, wl->insns);
	GEXPECT_EQ(st.entries, wl->entries);
	GEXPECT_EQ(st.exits, st.entries);  /* one exit per entry, none on leaving */
	GEXPECT_EQ(emu.m.exits, st.entries); /* the hypervisor's own count agrees */
	GEXPECT_EQ(st.stepped, 0);
	GEXPECT_EQ(st.faults, 0);
	o[0] = nat.m.tsc, o[1] = emu.m.tsc, o[2] = st.instructions, o[3] = st.entries, o[4] = st.exits;
	o[5] = emu.m.exits;
	if (w == W_FIB)
		GEXPECT_EQ(emu.rax, 610);
	if (w == W_CALLOUT)
		GEXPECT_EQ(emu.rax, 3 * 41 + 1 + 41 + 1000);
	return bad;
}

void scen_regions_same(struct hv_boot_info *bi)
{
	u64 ucr3 = rgn_user_space(), bad = 0;
	for (int w = 0; w < W_N; w++)
		bad += same_one(w, ucr3, &bi->out[6 * w]);
	bi->out[30] = bad;
	bi->out[31] = W_N;
}

/* ---- regions_cpu: unsupported and hypervisor instructions run on the CPU ---- */

static u16 fpu_env[14]; /* FNSTENV's 28 bytes; FCW first */
static const char region_line[] = "region: this line was printed by OUT in a region\n";

/* out: 0 x87 entries, 1 stepped, 2 unsupported, 3 exits, 4 CPUID result, 5 stepped by CPUID,
 * 6 stepped by the print, 7 its length */
void scen_regions_cpu(struct hv_boot_info *bi)
{
	unsigned long long *o = bi->out;
	struct rgn_regs nat = {.rflags = 2}, emu;
	__asm__ volatile("fninit"); /* FCW = 0x37f */
	nat.gpr[7] = (u64)fpu_env;
	emu = nat;
	rgn_invoke(&nat, rgn_x87);
	GEXPECT_EQ(nat.gpr[0], 8);
	GEXPECT_EQ(nat.gpr[1], 0x37f);
	s64 id = rgn_add(rgn_cpu_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	rgn_invoke(&emu, rgn_x87);
	struct hv_region_stats st = rgn_stats(id);
	GEXPECT_EQ(rgn_regs_diff(&nat, &emu, RGN_FLAGS_CMP), 0);
	GEXPECT_EQ(st.unsupported, 0); /* FNSTENV: left to the CPU (EMU_X_X87), not unsupported */
	GEXPECT(st.stepped >= 1);
	GEXPECT_EQ(st.entries, 2); /* in, and back in after the step */
	o[0] = st.entries, o[1] = st.stepped, o[2] = st.unsupported, o[3] = st.exits;
	guest_printf("regions_cpu: x87: %llu entries, %llu stepped, %llu unsupported, %llu exits, %llu instructions\n",
		     st.entries, st.stepped, st.unsupported, st.exits, st.instructions);

	struct rgn_regs r = {.rflags = 2};
	rgn_invoke(&r, rgn_cpuid);
	struct hv_region_stats st2 = rgn_stats(id);
	GEXPECT_EQ(r.gpr[0], 0x616c7668); /* "hvla": the hypervisor's CPUID answered */
	GEXPECT_EQ(st2.stepped - st.stepped, 1);
	GEXPECT_EQ(st2.unsupported, 0);
	o[4] = r.gpr[0], o[5] = st2.stepped - st.stepped;

	r = (struct rgn_regs){.rflags = 2};
	r.gpr[7] = (u64)region_line;
	rgn_invoke(&r, rgn_print);
	struct hv_region_stats st3 = rgn_stats(id);
	GEXPECT_EQ(st3.stepped - st2.stepped, sizeof(region_line) - 1); /* one OUT per byte */
	GEXPECT_EQ(r.gpr[7], (u64)region_line + sizeof(region_line) - 1);
	o[6] = st3.stepped - st2.stepped, o[7] = sizeof(region_line) - 1;
	rgn_remove(id);
}

/* ---- regions_bad: refused region hypercalls ---- */

static s64 add(u64 kind, u64 addr, u64 size) { return hc3(HC_REGION_ADD, kind, addr, size); }

void scen_regions_bad(struct hv_boot_info *bi)
{
	u64 ram = bi->ram_size, t = (u64)rgn_text_start;
	u64 unmapped = 64 * MiB; /* beyond RAM: never mapped by the guest */
	GEXPECT_EQ(add(HV_TRAP_GVA, t, 0), -HV_EINVAL);                 /* empty */
	GEXPECT_EQ(add(HV_TRAP_GVA, t + 8, PAGE_SIZE), -HV_EINVAL);     /* unaligned start */
	GEXPECT_EQ(add(HV_TRAP_GVA, t, PAGE_SIZE + 8), -HV_EINVAL);     /* unaligned size */
	GEXPECT_EQ(add(HV_TRAP_GPA, 16 * MiB, 65 * PAGE_SIZE), -HV_EINVAL); /* > 64 pages */
	GEXPECT_EQ(add(2, t, PAGE_SIZE), -HV_EINVAL);                   /* unknown kind */
	GEXPECT_EQ(add(~0UL, t, PAGE_SIZE), -HV_EINVAL);
	GEXPECT_EQ(add(HV_TRAP_GPA, ram, PAGE_SIZE), -HV_EFAULT);       /* out of RAM */
	GEXPECT_EQ(add(HV_TRAP_GPA, ram - PAGE_SIZE, 2 * PAGE_SIZE), -HV_EFAULT);
	GEXPECT_EQ(add(HV_TRAP_GVA, unmapped, PAGE_SIZE), -HV_EFAULT);  /* GVA not mapped */
	GEXPECT_EQ(add(HV_TRAP_GVA, ram - PAGE_SIZE, 2 * PAGE_SIZE), -HV_EFAULT); /* 2nd page unmapped */
	GEXPECT_EQ(hc1(HC_REGION_REMOVE, 0), -HV_EINVAL);               /* unknown ids */
	GEXPECT_EQ(hc1(HC_REGION_REMOVE, HV_REGION_MAX), -HV_EINVAL);
	GEXPECT_EQ(hc1(HC_REGION_REMOVE, ~0UL), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_REGION_STATS, 3, (u64)&rgn_exit_stats), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_REGION_LOG, 5, 1), -HV_EINVAL);

	/* 64 pages is allowed; then overlaps are refused, by GVA or by GPA */
	s64 big = add(HV_TRAP_GPA, 16 * MiB, 64 * PAGE_SIZE);
	GEXPECT(big >= 0);
	GEXPECT_EQ(add(HV_TRAP_GPA, 16 * MiB + 63 * PAGE_SIZE, 2 * PAGE_SIZE), -HV_EBUSY);
	rgn_remove(big);
	s64 id = add(HV_TRAP_GVA, t, 2 * PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(add(HV_TRAP_GVA, t + PAGE_SIZE, PAGE_SIZE), -HV_EBUSY);
	GEXPECT_EQ(add(HV_TRAP_GPA, t, PAGE_SIZE), -HV_EBUSY);
	GEXPECT_EQ(add(HV_TRAP_GVA, t - PAGE_SIZE, 2 * PAGE_SIZE), -HV_EBUSY);
	GEXPECT_EQ(hc2(HC_REGION_LOG, id, 2), -HV_EINVAL);
	GEXPECT_EQ(hc3(HC_REGION_LOG_READ, id, (u64)buf, HV_REGION_LOG + 1), -HV_EINVAL);
	GEXPECT_EQ(hc2(HC_REGION_STATS, id, ram), -HV_EFAULT);
	rgn_remove(id);
	GEXPECT_EQ(hc1(HC_REGION_REMOVE, id), -HV_EINVAL); /* already gone */

	/* At most HV_REGION_MAX regions */
	s64 ids[HV_REGION_MAX];
	for (int i = 0; i < HV_REGION_MAX; i++)
		GEXPECT((ids[i] = add(HV_TRAP_GPA, 16 * MiB + (u64)i * PAGE_SIZE, PAGE_SIZE)) >= 0);
	GEXPECT_EQ(add(HV_TRAP_GPA, 16 * MiB + HV_REGION_MAX * PAGE_SIZE, PAGE_SIZE), -HV_ENOSPC);
	for (int i = 0; i < HV_REGION_MAX; i++)
		rgn_remove(ids[i]);

	/* Removing the region from inside it: -EBUSY; from outside: done */
	id = rgn_add(rgn_hc_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	struct rgn_regs r = {.rflags = 2};
	r.gpr[7] = id;
	s64 inside = rgn_invoke(&r, rgn_remove_self);
	GEXPECT_EQ(inside, -HV_EBUSY);
	struct hv_region_stats st = rgn_stats(id);
	GEXPECT_EQ(st.stepped, 1); /* the VMCALL ran on the CPU */
	GEXPECT_EQ(st.entries, 2);
	bi->out[0] = inside;
	bi->out[1] = hc1(HC_REGION_REMOVE, id);
	GEXPECT_EQ(bi->out[1], 0);
	/* and the code runs natively again: no region, no exit */
	u64 e0 = guest_exits(&rgn_exit_stats);
	r.gpr[7] = HV_REGION_MAX; /* an unknown id: -EINVAL, one VMCALL exit */
	s64 outside = rgn_invoke(&r, rgn_remove_self);
	u64 exits = guest_exits(&rgn_exit_stats) - e0 - 1;
	GEXPECT_EQ(outside, -HV_EINVAL);
	GEXPECT_EQ(exits, 1); /* the VMCALL's own */
}

/* ---- regions_log ---- */

static u64 words[8] __attribute__((aligned(64)));
static struct hv_access log[64];

struct want {
	u64 gva, value;
	u32 size, kind;
};

void scen_regions_log(struct hv_boot_info *bi)
{
	u64 *p = words;
	p[0] = 0x1111222233334444UL, p[2] = 0xaaaabbbbccccddddUL, p[3] = 0x5000000070000001UL;
	p[5] = 0x123456789abcbeefUL;
	u32 old3 = (u32)p[3], sum3 = old3 + (u32)p[2];
	s64 id = rgn_add(rgn_hc_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(hc2(HC_REGION_LOG, id, 1), 0);
	struct rgn_regs r = {.rflags = 2};
	r.gpr[7] = (u64)p;
	rgn_invoke(&r, rgn_logged);
	s64 n = hc3(HC_REGION_LOG_READ, id, (u64)log, 64);
	GEXPECT(n > 0 && n <= 64);
	const struct want want[] = {
		{(u64)&p[0], p[0], 8, HV_ACCESS_R},
		{(u64)&p[1], p[0], 8, HV_ACCESS_W},
		{(u64)&p[2], (u32)p[2], 4, HV_ACCESS_R},
		{(u64)&p[3], old3, 4, HV_ACCESS_R},
		{(u64)&p[3], sum3, 4, HV_ACCESS_W},
		{(u64)&p[4], 0x5a, 1, HV_ACCESS_W},
		{(u64)&p[5], 0xbeef, 2, HV_ACCESS_R},
		{(u64)&p[6], p[6], 8, HV_ACCESS_W},          /* the RSP it stored */
		{p[6], (u64)rgn_invoke_ret, 8, HV_ACCESS_R}, /* RET's read of the return address */
	};
	u64 k = 0, bad = 0, x = 0;
	for (s64 i = 0; i < n; i++) {
		const struct hv_access *a = &log[i];
		if (a->kind == HV_ACCESS_X) {
			x++;
			continue;
		}
		const struct want *w = k < ARRAY_SIZE(want) ? &want[k] : NULL;
		bool ok = w && a->gva == w->gva && a->gpa == w->gva && a->size == w->size && a->kind == w->kind &&
			  a->value == w->value;
		if (!ok)
			guest_printf("regions_log: data access %lu: gva %llx gpa %llx size %u kind %u value %llx; "
				     "wanted gva %lx size %u kind %u value %lx\n",
				     k, a->gva, a->gpa, a->size, a->kind, a->value, w ? w->gva : 0, w ? w->size : 0,
				     w ? w->kind : 0, w ? w->value : 0);
		bad += !ok;
		k++;
	}
	GEXPECT_EQ(k, ARRAY_SIZE(want));
	GEXPECT_EQ(bad, 0);
	GEXPECT(x >= 1); /* the first decode of each instruction fetched its bytes */
	GEXPECT_EQ(p[1], p[0]);
	GEXPECT_EQ((u32)p[3], sum3);
	guest_printf("regions_log: %ld entries, %lu data accesses as expected (%lu bad), %lu fetches\n", n, k - bad,
		     bad, x);
	bi->out[0] = n, bi->out[1] = k, bi->out[2] = bad, bi->out[3] = x;
	/* read again: nothing new; logging off: nothing logged */
	GEXPECT_EQ(hc3(HC_REGION_LOG_READ, id, (u64)log, 64), 0);
	GEXPECT_EQ(hc2(HC_REGION_LOG, id, 0), 0);
	rgn_invoke(&r, rgn_logged);
	GEXPECT_EQ(hc3(HC_REGION_LOG_READ, id, (u64)log, 64), 0);
	rgn_remove(id);

	/* More than HV_REGION_LOG accesses (rgn_strings makes thousands): the log keeps the last
	 * 256, oldest first, so the last data access read is RET's read of the return address. */
	id = rgn_add(rgn_strings_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	GEXPECT_EQ(hc2(HC_REGION_LOG, id, 1), 0);
	r = (struct rgn_regs){.rflags = 2};
	r.gpr[7] = (u64)buf;
	rgn_invoke(&r, rgn_strings);
	s64 total = 0, got;
	const struct hv_access *last = NULL;
	while ((got = hc3(HC_REGION_LOG_READ, id, (u64)log, 64)) > 0) {
		total += got;
		for (s64 i = 0; i < got; i++)
			if (log[i].kind != HV_ACCESS_X)
				last = &log[i];
		if (got < 64)
			break;
	}
	GEXPECT_EQ(total, HV_REGION_LOG);
	GEXPECT(last && last->kind == HV_ACCESS_R && last->size == 8 && last->value == (u64)rgn_invoke_ret);
	bi->out[4] = total;
	rgn_remove(id);
}
