/* test_fuzz.c: KTAP suite "fuzz": snapshot fuzzing (vmm/fuzz.c, snapshot.c, dirty.c) with the
 * guest's targets (guest/fuzz/). Restore is exact (a hash of RAM and state after 1,000
 * iterations), each dirty-tracking method counts exactly the pages written, the crash classes
 * and the time limit, determinism of RDRAND/RDTSC, and the refused hypercalls. A method this
 * CPU lacks is a SKIP with the reason. */
#include "suites.h"
#include "../vmm/fuzz.h"
#include "../kernel/x86.h"

#define ITERS 1000

static u64 limit_tsc(void) { return tsc_hz() / 10; } /* 100 ms per iteration */

/* visible: the INT3s in RAM even with execute-only EPT; edges: the targets' code in the interpreter */
enum { COV_NONE, COV_BP, COV_BP_VISIBLE, COV_EDGES };

/* A fresh VM at target's snapshot with method; false when the case is over (SKIP or ERROR). */
static bool fuzz_boot_arg(struct vm *vm, const char *target, u32 method, u64 seed, int cov, u64 arg)
{
	char name[HV_SCENARIO_MAX];
	const char *why = dirty_unsupported(method);
	if (why) {
		kt_skip("dirty=%s: %s", fuzz_dirty_name(method), why);
		return false;
	}
	snprintf(name, sizeof(name), "fuzz:%s", target);
	if (prepare_scenario(vm, name, arg))
		return false;
	if ((why = fuzz_attach(vm, method, seed, limit_tsc())) || (cov == COV_EDGES && (why = edges_attach(vm))) ||
	    (cov && cov != COV_EDGES && (why = cover_attach(vm))) ||
	    (cov == COV_BP_VISIBLE && (cover_set_hiding(vm, false), false)) || (why = fuzz_start(vm))) {
		kt_error("%s: %s (stop: %s)", name, why, vm_stop_str(vm->stop));
		fuzz_detach(vm);
		vm_destroy(vm);
		return false;
	}
	return true;
}

static bool fuzz_boot_cov(struct vm *vm, const char *target, u32 method, u64 seed, int cov)
{
	return fuzz_boot_arg(vm, target, method, seed, cov, 0);
}

static bool fuzz_boot(struct vm *vm, const char *target, u32 method, u64 seed)
{
	return fuzz_boot_cov(vm, target, method, seed, COV_NONE);
}

static void fuzz_end(struct vm *vm)
{
	fuzz_detach(vm);
	vm_destroy(vm);
}

/* 1,000 iterations of "pages" with random inputs (0..64 pages each), then the guest's RAM,
 * registers, VMCS guest state and MSRs hash as the snapshot does. */
static void restore_exact(u32 method)
{
	struct vm vm;
	u64 free0 = kalloc_free_count();
	if (!fuzz_boot(&vm, "pages", method, 1))
		return;
	u64 want = snap_hash_saved(&vm, &vm.fuzz->snap), rng = 42, ok = 0;
	EXPECT_EQ(snap_hash_now(&vm), want);
	for (int i = 0; i < ITERS; i++) {
		u8 in[64];
		for (u64 j = 0; j < sizeof(in); j++)
			in[j] = fuzz_rand(&rng);
		ok += fuzz_one(&vm, in, 1 + in[1] % 64).outcome == FUZZ_OK;
	}
	EXPECT_EQ(ok, ITERS);
	EXPECT(vm.fuzz->dirty_total > ITERS * 16); /* it did write many pages */
	EXPECT_EQ(snap_hash_now(&vm), want);
	kt_diag("dirty=%s: %lu iterations, %lu pages restored, %lu exits, %lu TSC restoring", fuzz_dirty_name(method),
		vm.fuzz->execs, vm.fuzz->dirty_total, vm.fuzz->exits_total, vm.fuzz->restore_tsc);
	fuzz_end(&vm);
	EXPECT_EQ(kalloc_free_count(), free0); /* the snapshot, PML page and split tables given back */
}
static void restore_exact_wp(void) { restore_exact(FUZZ_DIRTY_WP); }
static void restore_exact_ad(void) { restore_exact(FUZZ_DIRTY_AD); }
static void restore_exact_pml(void) { restore_exact(FUZZ_DIRTY_PML); }

/* Run "pages" once per K of ks (first K = 0): each run restores base + K pages, base being what
 * the first restores (stack, input buffer, the guest's page-table pages). Returns base. */
static u64 pages_k(struct vm *vm, u32 method, const u8 *ks, u64 n)
{
	u64 base = 0;
	for (u64 i = 0; i < n; i++) {
		u8 in[8] = {ks[i], 3, 5, 7, 11, 13, 17, 19};
		struct fuzz_result r = fuzz_one(vm, in, sizeof(in));
		EXPECT_EQ(r.outcome, FUZZ_OK);
		if (i == 0)
			base = r.dirty;
		if (!EXPECT_EQ(r.dirty, base + ks[i]))
			kt_diag("dirty=%s: K=%u restored %lu pages, base %lu", fuzz_dirty_name(method), ks[i], r.dirty, base);
	}
	return base;
}

/* "pages" with K = 0, 1, 5, 20, 64 and 600: each method restores base + K pages, where base
 * (stack, input buffer, the guest's page-table pages) is what K = 0 restores; 600 fills the
 * page-modification log. Returns base, or ~0. */
static u64 dirty_k(u32 method)
{
	static const u8 ks[] = {0, 1, 5, 20, 64, 0};
	struct vm vm;
	if (!fuzz_boot(&vm, "pages", method, 1))
		return ~0UL;
	u64 base = pages_k(&vm, method, ks, sizeof(ks));
	u8 big[2] = {255, 0}; /* 600 pages: more than a page-modification log holds */
	struct fuzz_result r = fuzz_one(&vm, big, sizeof(big));
	EXPECT_EQ(r.outcome, FUZZ_OK);
	EXPECT_EQ(r.dirty, base + 600);
	if (method == FUZZ_DIRTY_PML)
		EXPECT(vm.fuzz->pml_full >= 1);
	/* the input buffer the hypervisor wrote is the snapshot's again */
	EXPECT(!memcmp(vm.ram + vm.fuzz->buf, vm.fuzz->snap.ram + vm.fuzz->buf, 8));
	kt_diag("dirty=%s: base %lu pages, %lu exits in %lu iterations", fuzz_dirty_name(method), base,
		vm.fuzz->exits_total, vm.fuzz->execs);
	fuzz_end(&vm);
	return base;
}
/* "pages" with its code as an emulated region (harness arg bit 0): its writes are the
 * interpreter's, which no EPT sees; each method still counts K pages and restores them all. */
static void region_writes(u32 method)
{
	struct vm vm;
	if (!fuzz_boot_arg(&vm, "pages", method, 1, COV_NONE, 1))
		return;
	static const u8 ks[] = {0, 5, 20, 3};
	u64 want = snap_hash_saved(&vm, &vm.fuzz->snap), base = pages_k(&vm, method, ks, sizeof(ks));
	EXPECT_EQ(snap_hash_now(&vm), want);
	const struct hv_region_stats *st = &vm.sh->regions[0].stats;
	EXPECT(vm.sh->regions[0].live && st->entries >= sizeof(ks) && st->instructions > 100);
	kt_diag("dirty=%s, target in a region: base %lu pages, %llu region entries, %llu instructions interpreted",
		fuzz_dirty_name(method), base, st->entries, st->instructions);
	fuzz_end(&vm);
}
static void region_writes_tracked(void)
{
	for (u32 m = 0; m < FUZZ_DIRTY_N; m++)
		if (!dirty_unsupported(m))
			region_writes(m);
}

static void dirty_k_wp(void) { dirty_k(FUZZ_DIRTY_WP); }
static void dirty_k_ad(void) { dirty_k(FUZZ_DIRTY_AD); }
static void dirty_k_pml(void) { dirty_k(FUZZ_DIRTY_PML); }

/* The three methods see the same pages (the same base set: their count and their frames). */
static void dirty_methods_agree(void)
{
	u64 sets[FUZZ_DIRTY_N][64], n[FUZZ_DIRTY_N] = {0};
	u32 have = 0;
	for (u32 m = 0; m < FUZZ_DIRTY_N; m++) {
		struct vm vm;
		if (dirty_unsupported(m))
			continue;
		if (!fuzz_boot(&vm, "pages", m, 1))
			return;
		u8 in[8] = {9, 1, 2, 3, 4, 5, 6, 7};
		fuzz_one(&vm, in, sizeof(in)); /* warm: the first iteration's set may differ */
		struct fuzz_result r = fuzz_one(&vm, in, sizeof(in));
		n[m] = r.dirty;
		for (u64 i = 0; i < 64 && i < vm.fuzz->nlast; i++) { /* sorted: methods find pages in other orders */
			sets[m][i] = vm.fuzz->last[i];
			for (u64 j = i; j > 0 && sets[m][j - 1] > sets[m][j]; j--) {
				u64 t = sets[m][j];
				sets[m][j] = sets[m][j - 1], sets[m][j - 1] = t;
			}
		}
		have++;
		fuzz_end(&vm);
	}
	if (have < 2)
		SKIP("this CPU has fewer than two dirty-tracking methods");
	for (u32 m = 1; m < FUZZ_DIRTY_N; m++) {
		if (!n[m] || !n[0])
			continue;
		EXPECT_EQ(n[m], n[0]);
		u64 i = 0;
		while (i < n[0] && i < 64 && sets[m][i] == sets[0][i])
			i++;
		if (!EXPECT(i == n[0] || i == 64))
			kt_diag("dirty=%s and dirty=%s differ first at their %luth frame: 0x%lx, 0x%lx", fuzz_dirty_name(m),
				fuzz_dirty_name(0), i, sets[m][i], sets[0][i]);
	}
}

/* Each crash class, each followed by a clean input: the fuzzer goes on. (A triple fault
 * cannot happen while #DF is intercepted: it is a crash class for targets that are not.) With
 * coverage=edges the target runs in the interpreter: its faults must be the same crashes. */
static void crash_classes_cov(int cov)
{
	static const struct {
		u8 in;
		u32 outcome, vector;
	} cases[] = {
		{0, FUZZ_CRASH, 0},  {1, FUZZ_CRASH, 6},  {2, FUZZ_CRASH, 13}, {3, FUZZ_CRASH, 14},
		{4, FUZZ_CRASH, 12}, {5, FUZZ_CRASH, FUZZ_KIND_OUTSIDE}, {6, FUZZ_CRASH, FUZZ_KIND_PANIC},
		{7, FUZZ_TIMEOUT, 0}, {9, FUZZ_CRASH, 8}, {10, FUZZ_CRASH, 17},
	};
	struct vm vm;
	if (!fuzz_boot_cov(&vm, "crash", FUZZ_DIRTY_WP, 1, cov))
		return;
	u64 want = snap_hash_saved(&vm, &vm.fuzz->snap);
	u64 skipped = 0;
	for (u64 i = 0; i < ARRAY_SIZE(cases); i++) {
		u8 in[2] = {cases[i].in, 0}, clean[2] = {200, 0};
		if (cases[i].outcome == FUZZ_TIMEOUT && !vmx_caps.preemption_timer) {
			kt_diag("no endless loop: this CPU has no VMX-preemption timer to stop it");
			skipped++;
			continue;
		}
		struct fuzz_result r = fuzz_one(&vm, in, sizeof(in));
		if (!EXPECT_EQ(r.outcome, cases[i].outcome) || !EXPECT_EQ(r.vector, cases[i].vector))
			kt_diag("input %u: outcome %u, %s at RIP 0x%lx", cases[i].in, r.outcome, fuzz_kind_name(r.vector), r.rip);
		EXPECT_EQ(fuzz_one(&vm, clean, sizeof(clean)).outcome, FUZZ_OK);
	}
	EXPECT_EQ(vm.fuzz->crashes, 9);
	EXPECT_EQ(vm.fuzz->timeouts, 1 - skipped);
	EXPECT_EQ(snap_hash_now(&vm), want);
	u64 interpreted = 0;
	for (u32 id = 0; id < HV_REGION_MAX; id++)
		interpreted += vm.sh->regions[id].live ? vm.sh->regions[id].stats.instructions : 0;
	if (cov == COV_EDGES && EXPECT(interpreted > 0))
		kt_diag("edges: %lu instructions interpreted, %lu map entries", interpreted, cover_count(&vm));
	fuzz_end(&vm);
}
static void crash_classes(void) { crash_classes_cov(COV_NONE); }
static void crash_classes_in_interpreter(void) { crash_classes_cov(COV_EDGES); }

/* RDRAND and RDTSC: the same seed gives the same values, in one VM and in another, on the CPU
 * and in the interpreter (coverage=edges); another seed other values. */
static u64 rand_status(u64 seed, int times, int cov)
{
	struct vm vm;
	u64 s = 0;
	if (!fuzz_boot_cov(&vm, "crash", FUZZ_DIRTY_WP, seed, cov))
		return 0;
	u8 in[1] = {8};
	for (int i = 0; i < times; i++) {
		struct fuzz_result r = fuzz_one(&vm, in, 1);
		EXPECT_EQ(r.outcome, FUZZ_OK);
		EXPECT(i == 0 || r.status == s);
		s = r.status;
	}
	fuzz_end(&vm);
	return s;
}

static void deterministic_rand(void)
{
	u64 a = rand_status(7, 3, COV_NONE), b = rand_status(7, 2, COV_NONE), c = rand_status(8, 1, COV_NONE);
	u64 d = rand_status(7, 2, COV_EDGES); /* RDRAND in the interpreter, RDTSC stepped on the CPU */
	EXPECT_EQ(a, b);
	EXPECT(a != c);
	EXPECT_EQ(d, a);
}

/* fuzz_bad: the guest's own checks of the refusals before the snapshot, then a second
 * snapshot (-EBUSY) and an end from ring 3 (-EPERM) inside an iteration. */
static void bad_input(void)
{
	struct vm vm;
	if (prepare_scenario(&vm, "fuzz_bad", 0))
		return;
	const char *why = fuzz_attach(&vm, FUZZ_DIRTY_WP, 1, limit_tsc());
	if (!why)
		why = fuzz_start(&vm);
	if (EXPECT(!why)) {
		u8 in[1] = {0};
		struct fuzz_result r = fuzz_one(&vm, in, 1);
		EXPECT_EQ(r.outcome, FUZZ_OK);
		EXPECT_EQ(r.status, ((u64)-HV_EBUSY << 8) | (u8)-HV_EPERM);
	}
	fuzz_end(&vm);
}

/* A campaign of n executions; false if the VM could not be prepared. */
static bool campaign_stop(const char *target, u32 method, u64 seed, int cov, u64 n, bool stop,
			  struct fuzz_campaign *c)
{
	struct vm vm;
	memset(c, 0, sizeof(*c));
	c->stop_at_crash = stop;
	if (!fuzz_boot_cov(&vm, target, method, seed, cov))
		return false;
	c->max_execs = n;
	fuzz_campaign_run(&vm, c);
	fuzz_end(&vm);
	return true;
}

static bool campaign(const char *target, u32 method, u64 seed, int cov, u64 n, struct fuzz_campaign *c)
{
	return campaign_stop(target, method, seed, cov, n, false, c);
}

/* Coverage guidance: tlv's bug sits behind a 4-byte magic checked byte by byte; with coverage
 * (breakpoints, and the edge map) the campaign finds it (the panic of its canary) within N
 * executions, without it not. The edge map needs more: an input shorter than 4 bytes takes an
 * edge of its own (the size check) and joins the corpus, where the deterministic stage walks
 * its bytes for nothing; breakpoints see no new block there. */
#define MAGIC_N 8000 /* seed 3: breakpoints find it at execution 5,050, the edge map at 6,974 */
static void coverage_finds_magic(void)
{
	struct fuzz_campaign with, edges, without;
	/* The cheapest dirty method this CPU has (1 exit per execution with A/D flags, 36 with
	 * write protection): the campaigns with coverage end at their first crash. */
	enum fuzz_dirty m = vmx_caps.ept_ad ? FUZZ_DIRTY_AD : FUZZ_DIRTY_WP;
	if (!campaign_stop("tlv", m, 3, COV_BP, MAGIC_N, true, &with) ||
	    !campaign_stop("tlv", m, 3, COV_EDGES, MAGIC_N, true, &edges) ||
	    !campaign("tlv", m, 3, COV_NONE, MAGIC_N, &without))
		return;
	EXPECT(with.unique >= 1 && with.crash[0].vector == FUZZ_KIND_PANIC);
	EXPECT(with.corpus > 4);
	EXPECT(edges.unique >= 1 && edges.crash[0].vector == FUZZ_KIND_PANIC);
	EXPECT(edges.execs == edges.first_crash_exec); /* it stopped there */
	kt_diag("tlv, coverage=edges: the first crash at execution %lu, corpus %lu", edges.first_crash_exec, edges.corpus);
	EXPECT_EQ(without.crashes, 0);
	EXPECT_EQ(without.corpus, 1);
	kt_diag("tlv: with coverage the first crash at execution %lu of %u, corpus %lu; without: %lu crashes",
		with.first_crash_exec, MAGIC_N, with.corpus, without.crashes);
}

/* The same seed twice: the same executions, coverage, corpus, crashes, exits and dirty pages;
 * another seed: another run. */
static void same_seed_same_stats(void)
{
	struct fuzz_campaign a, b, c;
	if (!campaign("bytecode", FUZZ_DIRTY_WP, 11, true, 400, &a) || !campaign("bytecode", FUZZ_DIRTY_WP, 11, true, 400, &b) ||
	    !campaign("bytecode", FUZZ_DIRTY_WP, 12, true, 400, &c))
		return;
	EXPECT_EQ(a.execs, b.execs);
	EXPECT_EQ(a.corpus, b.corpus);
	EXPECT_EQ(a.crashes, b.crashes);
	EXPECT_EQ(a.unique, b.unique);
	EXPECT_EQ(a.exits, b.exits);
	EXPECT_EQ(a.dirty, b.dirty);
	EXPECT_EQ(a.trace, b.trace); /* every input and its outcome, in order */
	EXPECT(a.trace != c.trace);
	/* coverage=edges: the interpreter's map decides what joins the corpus; the same twice */
	if (!campaign("bytecode", FUZZ_DIRTY_WP, 11, COV_EDGES, 400, &a) || !campaign("bytecode", FUZZ_DIRTY_WP, 11, COV_EDGES, 400, &b))
		return;
	EXPECT_EQ(a.corpus, b.corpus);
	EXPECT_EQ(a.trace, b.trace);
	EXPECT(a.corpus > 1);
}

/* Target selfsum checksums code that carries coverage breakpoints: its status with coverage
 * must be the one without. Three runs of one VM (unhide: before the third, every page of the
 * guest's image is treated as written, cover_unhide: the breakpoints go into RAM); the restore stays
 * exact, the leaves are the policy's, and every copy is given back. */
struct selfsum {
	u64 status[3], exits, tsc, covered;
	bool restored;   /* RAM and state are the snapshot's after the runs */
	bool snap_kept;  /* and the snapshot is what it was at the start (no INT3 ever went in) */
};
static bool selfsum_runs(int cov, bool unhide, struct selfsum *o)
{
	struct vm vm;
	u64 free0 = kalloc_free_count();
	if (!fuzz_boot_cov(&vm, "selfsum", vmx_caps.ept_ad ? FUZZ_DIRTY_AD : FUZZ_DIRTY_WP, 1, cov))
		return false;
	u64 want = snap_hash_saved(&vm, &vm.fuzz->snap), t0 = rdtsc();
	for (int i = 0; i < 3; i++) {
		u8 in[1] = {(u8)i};
		for (u64 f = HV_GUEST_IMAGE_GPA; unhide && i == 2 && f < HV_GUEST_IMAGE_GPA + (1 << 20); f += PAGE_SIZE)
			cover_unhide(&vm, f); /* as if the guest wrote each page of its image */
		struct fuzz_result r = fuzz_one(&vm, in, 1);
		EXPECT_EQ(r.outcome, FUZZ_OK);
		o->status[i] = r.status;
	}
	o->tsc = (rdtsc() - t0) / 3, o->exits = vm.fuzz->exits_total / 3, o->covered = cover_count(&vm);
	o->restored = snap_hash_now(&vm) == snap_hash_saved(&vm, &vm.fuzz->snap);
	o->snap_kept = snap_hash_saved(&vm, &vm.fuzz->snap) == want;
	EXPECT_EQ(policy_check(&vm, true), 0);
	fuzz_end(&vm);
	EXPECT_EQ(kalloc_free_count(), free0); /* the copies too */
	return true;
}

/* The hypervisor's INT3s are hidden from the guest's reads of its code (execute-only copies of
 * the code pages, vmm/cover.c): selfsum gives the same checksum with coverage as without. With
 * the hiding turned off it must differ (the INT3s show): the case sees them when they show. */
static void bp_hidden_from_reads(void)
{
	struct selfsum none = {0}, hidden = {0}, visible = {0}, written = {0};
	if (!vmx_caps.ept_execute_only)
		SKIP("this CPU has no execute-only EPT: the guest's reads of its code see the breakpoints");
	if (!selfsum_runs(COV_NONE, false, &none) || !selfsum_runs(COV_BP, false, &hidden) ||
	    !selfsum_runs(COV_BP_VISIBLE, false, &visible) || !selfsum_runs(COV_BP, true, &written))
		return;
	for (int i = 0; i < 3; i++)
		if (!EXPECT_EQ(hidden.status[i], none.status[i]))
			kt_diag("run %d: checksum 0x%lx with hidden breakpoints, 0x%lx without coverage", i, hidden.status[i],
				none.status[i]);
	EXPECT(visible.status[0] != none.status[0]); /* the INT3s in RAM: the guest reads 0xCC */
	EXPECT(hidden.covered > 0 && hidden.covered == visible.covered);
	EXPECT(none.restored && hidden.restored && visible.restored);
	EXPECT(hidden.snap_kept); /* hidden: guest memory never held an INT3 */
	/* a written code page: its copy goes, its breakpoints not run yet go into RAM */
	EXPECT(written.status[1] == none.status[1] && written.status[2] != none.status[2] && written.restored);
	kt_diag("selfsum per execution: without coverage %lu exits, %lu TSC; hidden breakpoints %lu exits, %lu TSC; "
		"visible %lu exits, %lu TSC", none.exits, none.tsc, hidden.exits, hidden.tsc, visible.exits, visible.tsc);
}

/* A corpus module (make fuzz CORPUS=DIR packs one; here one made in memory): its entries run
 * first, as they are, and stay in the corpus, so an entry that reaches tlv's bug crashes in the
 * first executions, where the built-in corpus alone does not; a malformed module is not used. */
static u64 put_entry(u8 *m, u64 pos, const char *s, u32 len)
{
	memcpy(m + pos, &len, 4);
	memcpy(m + pos + 4, s, len);
	return pos + 4 + len;
}

static void corpus_module_runs_first(void)
{
	static u8 m[64];
	u64 n = 2, size;
	struct fuzz_campaign seeded, plain, bad;
	memcpy(m, "HVCORP01", 8);
	memcpy(m + 8, &n, 8);
	size = put_entry(m, put_entry(m, 16, "HVLB", 4), "HVLB\x03\x04" "AAAA", 10); /* type 3: the off-by-one */
	struct vm vm;
	memset(&seeded, 0, sizeof(seeded));
	if (!fuzz_boot(&vm, "tlv", FUZZ_DIRTY_WP, 3))
		return;
	seeded.max_execs = 8, seeded.seeds = m, seeded.seeds_size = size;
	fuzz_campaign_run(&vm, &seeded);
	fuzz_end(&vm);
	EXPECT_EQ(seeded.seeded, 2);
	EXPECT_EQ(seeded.corpus, 3); /* the built-in entry and both of the module's */
	EXPECT(seeded.unique == 1 && seeded.crash[0].vector == FUZZ_KIND_PANIC);
	EXPECT_EQ(seeded.first_crash_exec, 2);
	if (!campaign("tlv", FUZZ_DIRTY_WP, 3, COV_NONE, 8, &plain))
		return;
	EXPECT_EQ(plain.crashes, 0); /* the same 8 executions without the module find nothing */
	m[0] = 'X';                  /* not a corpus module: not used */
	memset(&bad, 0, sizeof(bad));
	if (!fuzz_boot(&vm, "tlv", FUZZ_DIRTY_WP, 3))
		return;
	bad.max_execs = 8, bad.seeds = m, bad.seeds_size = size;
	fuzz_campaign_run(&vm, &bad);
	fuzz_end(&vm);
	EXPECT(bad.seeded == 0 && bad.crashes == 0 && bad.corpus == 1);
	kt_diag("tlv with a corpus module: first crash at execution %lu of %lu", seeded.first_crash_exec, seeded.execs);
}

/* The clean target never crashes, and the planted bugs of checksum and bytecode are found. */
static void clean_has_no_crash(void)
{
	struct fuzz_campaign c;
	if (!campaign("clean", FUZZ_DIRTY_WP, 5, true, 1500, &c))
		return;
	EXPECT_EQ(c.execs, 1500);
	EXPECT_EQ(c.crashes, 0);
	EXPECT_EQ(c.timeouts, 0);
	EXPECT(c.corpus > 1);
}

/* coverage=edges: each step further into tlv's magic is new coverage, an input seen before is
 * not, and the same input gives the same map (the second run of each adds nothing). */
static void edges_see_each_magic_byte(void)
{
	static const char *const in[] = {"AAAA", "HAAA", "HVAA", "HVLA", "HVLB\x02\x00", "HAAA", "HVLB\x02\x00"};
	struct vm vm;
	if (!fuzz_boot_cov(&vm, "tlv", FUZZ_DIRTY_WP, 1, COV_EDGES))
		return;
	for (u64 i = 0; i < ARRAY_SIZE(in); i++) {
		struct fuzz_result r = fuzz_one(&vm, (const u8 *)in[i], strlen(in[i]) + (i == 4 || i == 6) * 2);
		EXPECT_EQ(r.outcome, FUZZ_OK);
		if (!(i < 5 ? EXPECT(r.new_cov > 0) : EXPECT_EQ(r.new_cov, 0)))
			kt_diag("input %lu (\"%s\"): %lu new", i, in[i], r.new_cov);
	}
	kt_diag("edges: %lu map entries after %lu inputs", cover_count(&vm), ARRAY_SIZE(in));
	fuzz_end(&vm);
}

KTAP_SUITE(fuzz, vmm_setup, vmm_fini, KTAP_CASE(restore_exact_wp), KTAP_CASE(restore_exact_ad),
	   KTAP_CASE(restore_exact_pml), KTAP_CASE(dirty_k_wp), KTAP_CASE(dirty_k_ad), KTAP_CASE(dirty_k_pml),
	   KTAP_CASE(dirty_methods_agree), KTAP_CASE(region_writes_tracked), KTAP_CASE(crash_classes),
	   KTAP_CASE(deterministic_rand),
	   KTAP_CASE(bad_input), KTAP_CASE(coverage_finds_magic), KTAP_CASE(same_seed_same_stats),
	   KTAP_CASE(clean_has_no_crash), KTAP_CASE(bp_hidden_from_reads), KTAP_CASE(corpus_module_runs_first),
	   KTAP_CASE(edges_see_each_magic_byte), KTAP_CASE(crash_classes_in_interpreter));
