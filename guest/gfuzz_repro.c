/* gfuzz_repro.c: the reproducers of the "guest_fuzz" findings (docs/guest.md, "Known
 * findings"): the shortest operation sequences that show each one, run instead of random
 * operations when bi->arg names one (bits 56-61). Each runs the operation first where it works
 * (the control), then where it fails. Nothing here is steered around. */
#include "gfuzz.h"

static void region_on(int k) { gf_do_hc(HC_REGION_ADD, HV_TRAP_GPA, gf.gpa[PG_C0 + k], PAGE_SIZE, 0); }
static void xtrap_on(int k) { gf_do_hc(HC_TRAP_ADD, HV_TRAP_GPA, gf.gpa[PG_C0 + k], HV_ACCESS_X, 0); }

/* A: TF over CPUID on an execute-trapped page: a livelock (the watchdog ends it). */
static void repro_1(void) { gf_do_code(SN_TF_CPUID, 2, 0), xtrap_on(2), gf_do_code(SN_TF_CPUID, 2, 0); }

/* B: TF set by POPF inside a region: no #DB after the next instructions. */
static void repro_2(void) { gf_do_code(SN_TF, 1, 0), region_on(1), gf_do_code(SN_TF, 1, 0); }

/* C: RDRAND, RDSEED, RDPID in a region: #UD where the CPU runs them. */
static void repro_3(void)
{
	static const enum sn which[] = {SN_RDRAND, SN_RDSEED, SN_RDPID};
	for (u32 i = 0; i < ARRAY_SIZE(which); i++)
		gf_do_code(which[i], 1, 0);
	region_on(1);
	for (u32 i = 0; i < ARRAY_SIZE(which); i++)
		gf_do_code(which[i], 1, 0);
}

/* D: a store across two pages, the first a write-trapped frame, the second read-only in the view
 * (RESTORE): two hits for one instruction. */
static void repro_4(void)
{
	u64 addr = gf.gpa[PG_D0 + 1] + PAGE_SIZE - 1;
	gf_do_hc(HC_TRAP_ADD, HV_TRAP_GPA, gf.gpa[PG_D0 + 1], HV_ACCESS_W, 0);
	gf_do_store(addr);
	gf_check_hits();
	gf_do_hc(HC_VIEW_SET_ACCESS, 0, gf.gpa[PG_D0 + 2], PAGE_SIZE, HV_ACCESS_R);
	gf_do_store(addr);
	gf_check_hits();
}

/* E: an instruction that starts on an ordinary page and ends on a region page: a livelock. The
 * control runs on other pages: Bochs 2.7 keeps running a page-crossing instruction it decoded
 * before even after its second page lost execute. */
static void repro_5(void) { gf_do_code(SN_STRADDLE, 0, 0), region_on(2), gf_do_code(SN_STRADDLE, 1, 0); }

/* A with RESTORE: the guest's #DB handler takes execute away from the page it single-steps; the
 * next fetch's EPT violation leaves BS pending (Bochs), and VM entry delivers a #DB before the
 * instruction: 7 #DBs instead of 6. */
static void deny_x_c1(void) { gf_do_hc(HC_VIEW_SET_ACCESS, 0, gf.gpa[PG_C0 + 1], PAGE_SIZE, HV_ACCESS_R | HV_ACCESS_W); }
static void repro_6(void) { gf_do_code(SN_TF, 1, 0), gf.db_once = deny_x_c1, gf_do_code(SN_TF, 1, 0); }

/* A with a region's step: the #DB handler makes the page it single-steps a region; the CPUID
 * (which the interpreter leaves to the CPU) livelocks as in reproducer 1. */
static void region_c1(void) { region_on(1); }
static void repro_7(void) { gf_do_code(SN_TF_CPUID, 1, 0), gf.db_once = region_c1, gf_do_code(SN_TF_CPUID, 1, 0); }

/* F (the model's): a fetch view 0 denies on C2 is one RESTORE record, which the model follows;
 * with an execute trap on C2, LOOP's 130 trapped instructions each leave a trap record after
 * the RESTORE record, and the 64-record ring loses it: the model kept C2 without execute and
 * called the next call to C2 a denied access that left no record. */
static void deny_x_c2(void) { gf_do_hc(HC_VIEW_SET_ACCESS, 0, gf.gpa[PG_C0 + 2], PAGE_SIZE, HV_ACCESS_R | HV_ACCESS_W); }
static void repro_8(void)
{
	deny_x_c2(), gf_do_code(SN_LOOP, 2, 0), gf_do_code(SN_CPUID, 2, 0);
	xtrap_on(2), deny_x_c2(), gf_do_code(SN_LOOP, 2, 0), gf_do_code(SN_CPUID, 2, 0);
}

void gf_repro(u64 n)
{
	static void (*const repros[])(void) = {repro_1, repro_2, repro_3, repro_4, repro_5, repro_6, repro_7, repro_8};
	if (n >= 1 && n <= ARRAY_SIZE(repros))
		repros[n - 1]();
	else
		guest_printf("guest_fuzz: no reproducer %lu (1..%lu)\n", n, ARRAY_SIZE(repros));
}
