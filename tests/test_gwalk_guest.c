/* test_gwalk_guest.c: suite "guest_page_walk": the interpreter's guest page walk (vmm/gwalk.c)
 * against the CPU's on reserved bits. The guest scenario page_walk_rsvd (guest/scen_rsvd.c)
 * touches each kind of entry natively and from an emulated region; these cases check that the
 * two error codes are equal, and that the CPU's own code is the one the SDM gives ("Reserved
 * Bits" in "Page-Fault Exceptions"), so a kind the CPU does not fault on is seen here and not
 * taken as the reference. Which kinds apply on this CPU is decided here, from gwalk_this_cpu().
 * Bochs 2.7 (corei7_skylake_x: 1 GiB pages; corei7_ivy_bridge_3770k: none; MAXPHYADDR 40 on
 * both) gives the SDM's code for every kind, so none is left out. */
#include "suites.h"

#define NO_FAULT 0xffffffffULL
#define PF(err) (14ULL << 16 | (err))
#define NEED_PA 1    /* a reserved address bit: MAXPHYADDR < 52 */
#define NEED_1G 2    /* 1-GByte pages */
#define NEED_NO_1G 4 /* no 1-GByte pages */

/* In the order of scen_rsvd.c's kinds[], with the code the SDM gives natively. */
static const struct {
	const char *name;
	u32 needs;
	u64 want;
} kinds[] = {
	{"bit MAXPHYADDR in a PML4E", NEED_PA, PF(9)},
	{"bit MAXPHYADDR in a PDPTE", NEED_PA, PF(9)},
	{"bit MAXPHYADDR in a PDE", NEED_PA, PF(9)},
	{"bit MAXPHYADDR in a PTE", NEED_PA, PF(9)},
	{"bit 51 in a PTE", NEED_PA, PF(9)},
	{"bit MAXPHYADDR in a 2-MByte PDE", NEED_PA, PF(9)},
	{"bit MAXPHYADDR in a 1-GByte PDPTE", NEED_PA | NEED_1G, PF(9)},
	{"XD in a PML4E with EFER.NXE = 0", 0, PF(9)},
	{"XD in a PTE with EFER.NXE = 0, fetch", 0, PF(9)}, /* no I/D: NXE = 0, SMEP off */
	{"PS in a PML4E", 0, PF(9)},
	{"PS in a PDPTE without 1-GByte pages", NEED_NO_1G, PF(9)},
	{"bit 13 in a 1-GByte PDPTE", NEED_1G, PF(9)},
	{"bit 29 in a 1-GByte PDPTE", NEED_1G, PF(9)},
	{"bit 13 in a 2-MByte PDE", 0, PF(9)},
	{"bit 20 in a 2-MByte PDE", 0, PF(9)},
	{"write, read-only PTE with bit MAXPHYADDR", NEED_PA, PF(0xb)},   /* P|W|RSVD, not P|W */
	{"fetch, NX PTE with bit MAXPHYADDR", NEED_PA, PF(0x19)},        /* P|RSVD|I/D, not P|I/D */
	{"CPL 3 read, PTE with bit MAXPHYADDR", NEED_PA, PF(0xd)},       /* P|U|RSVD */
	{"CPL 3 read, supervisor PTE with bit MAXPHYADDR", NEED_PA, PF(0xd)}, /* not P|U */
	{"bit MAXPHYADDR in a PDE, its PTE not present", NEED_PA, PF(9)},
	{"not-present PTE with bits 51 and 7", 0, PF(0)},
	{"not-present PML4E with PS", 0, PF(0)},
	{"bit 12 (PAT) in a 2-MByte PDE", 0, NO_FAULT},
	{"bit 12 (PAT) in a 1-GByte PDPTE", NEED_1G, NO_FAULT},
	{"bit 52 (ignored) in a PTE", 0, NO_FAULT},
	{"XD in a PTE with EFER.NXE = 1, read", 0, NO_FAULT},
	{"bits 8 and 6 (ignored) in a PML4E", 0, NO_FAULT},
	{"bit 7 (PAT) in a PTE", 0, NO_FAULT},
};
#define FIRST_NOT_PRESENT 20
#define FIRST_NO_FAULT 22

static bool applies(u32 needs, const struct gwalk_cpu *cpu)
{
	return !((needs & NEED_PA && cpu->maxphyaddr >= 52) || (needs & NEED_1G && !cpu->pages_1g) ||
		 (needs & NEED_NO_1G && cpu->pages_1g));
}

/* Kinds [first, end): the emulated code equals the native one, and the native one is the SDM's.
 * Kinds that do not apply to this CPU must be the ones the guest skipped. */
static void compare(const char *scenario_kinds, u32 first, u32 end)
{
	struct vm vm;
	struct gwalk_cpu cpu = gwalk_this_cpu();
	const unsigned long long *o = ASSERT_SCENARIO_OK(&vm, "page_walk_rsvd", (BIT(end) - 1) & ~(BIT(first) - 1));
	EXPECT_EQ(o[31], ARRAY_SIZE(kinds));
	EXPECT_EQ(o[28], cpu.maxphyaddr | (u64)cpu.pages_1g << 8); /* the guest sees the CPU's values */
	u32 run = 0;
	for (u32 k = first; k < end; k++) {
		bool skipped = o[30] & BIT(k);
		EXPECT_EQ(skipped, !applies(kinds[k].needs, &cpu));
		if (skipped)
			continue;
		if (!EXPECT(o[k] != 0)) { /* the guest was stopped at this kind (its last console lines) */
			kt_diag("%s and those after it: no result", kinds[k].name);
			break;
		}
		u64 native = o[k] & 0xffffffff, emulated = o[k] >> 32;
		kt_diag("%s: native %lx, emulated %lx", kinds[k].name, native, emulated);
		EXPECT_EQ(emulated, native);
		EXPECT_EQ(native, kinds[k].want);
		run++;
	}
	kt_diag("%u of %u %s kinds apply with MAXPHYADDR %u and 1-GByte pages %s", run, end - first, scenario_kinds,
		cpu.maxphyaddr, cpu.pages_1g ? "on" : "off");
	EXPECT(run > 0);
	EXPECT_EQ(vm.in_region, 0);
	vm_destroy(&vm);
}

/* A present entry with a reserved bit: #PF with P and RSVD, plus W, U and I/D as for any fault,
 * and before the rights (a write to a read-only page, a fetch from an NX page, a CPL 3 read of a
 * supervisor page all report RSVD). */
static void reserved_bits_fault_as_natively(void) { compare("reserved-bit", 0, FIRST_NOT_PRESENT); }

/* A not-present entry: its other bits are not looked at (no RSVD). */
static void not_present_entries_ignore_them(void) { compare("not-present", FIRST_NOT_PRESENT, FIRST_NO_FAULT); }

/* The neighbours that are not reserved: PAT bits of large pages and PTEs, ignored bits, XD with
 * EFER.NXE = 1 on a read: no fault, natively and emulated. */
static void neighbouring_bits_do_not_fault(void) { compare("neighbouring", FIRST_NO_FAULT, ARRAY_SIZE(kinds)); }

KTAP_SUITE(guest_page_walk, vmm_setup, vmm_fini, KTAP_CASE(reserved_bits_fault_as_natively),
	   KTAP_CASE(not_present_entries_ignore_them), KTAP_CASE(neighbouring_bits_do_not_fault));
