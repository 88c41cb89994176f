/* main.c: the guest's init sequence and its scenario table. guest_main() checks the boot
 * info, builds its own platform (GDT/TSS/IDT, page tables), runs the one scenario the
 * hypervisor named in bi->scenario, and ends the run with HC_EXIT(0). Exit statuses:
 * 0 done, 2 unknown scenario (the known ones are listed), 3 bad boot info magic, 0xE0 + vector
 * unexpected exception. */
#include "guest.h"
#include "fuzz/fuzz.h"

struct scenario {
	const char *name;
	void (*run)(struct hv_boot_info *bi);
};

/* One line per scenario; docs/guest.md says what each checks. */
static const struct scenario scenarios[] = {
	{"hello", scen_hello},
	{"cpuid", scen_cpuid},
	{"vmcall", scen_vmcall},
	{"io", scen_io},
	{"msr", scen_msr},
	{"cr", scen_cr},
	{"vmx_insns", scen_vmx_insns},
	{"xsetbv", scen_xsetbv},
	{"triple_fault", scen_triple_fault},
	{"ept_identity", scen_ept_identity},
	{"pattern_write", scen_pattern_write},
	{"pattern_check", scen_pattern_check},
	{"user_mode", scen_user_mode},
	{"hypercall_fuzz", scen_hypercall_fuzz},
	{"vmxoff", scen_vmxoff},
	{"bench", scen_bench},
	{"ept_access", scen_ept_access},
	{"views_remap", scen_views_remap},
	{"views_invept", scen_views_invept},
	{"views_busy", scen_views_busy},
	{"vmfunc", scen_vmfunc},
	{"ve", scen_ve},
	{"traps", scen_traps},
	{"bench_views", scen_bench_views},
	{"regions_same", scen_regions_same},
	{"regions_faults", scen_regions_faults},
	{"regions_stepfault", scen_regions_stepfault},
	{"regions_rights", scen_regions_rights},
	{"regions_views", scen_regions_views},
	{"regions_traps", scen_regions_traps},
	{"regions_diff", scen_regions_diff},
	{"regions_cpu", scen_regions_cpu},
	{"regions_cwork", scen_regions_cwork},
	{"regions_glue", scen_regions_glue},
	{"regions_bad", scen_regions_bad},
	{"regions_log", scen_regions_log},
	{"regions_alias", scen_regions_alias},
	{"hostile", scen_hostile},
	{"spin", scen_spin},
	{"page_walk_rsvd", scen_page_walk_rsvd},
	{"hviews_remap_read", scen_hviews_remap_read},
	{"hviews_denied_write", scen_hviews_denied_write},
	{"hviews_remap_region", scen_hviews_remap_region},
	{"hviews_remap_trap", scen_hviews_remap_trap},
	{"hviews_rights_monitor", scen_hviews_rights_monitor},
	{"hviews_ve_monitor", scen_hviews_ve_monitor},
	{"hviews_region_nox", scen_hviews_region_nox},
	{"hviews_gva_remap", scen_hviews_gva_remap},
	{"hviews_unmonitor", scen_hviews_unmonitor},
	{"hviews_get_access", scen_hviews_get_access},
	{"hviews_vmfunc_region", scen_hviews_vmfunc_region},
	{"hviews_vmfunc_between", scen_hviews_vmfunc_between},
	{"hviews_pagetables", scen_hviews_pagetables},
	{"hviews_smc", scen_hviews_smc},
	{"guest_fuzz", scen_guest_fuzz},
	{"fuzz_bad", scen_fuzz_bad},
	{"smp_hello", scen_smp_hello},
	{"smp_views", scen_smp_views},
	{"smp_shootdown", scen_smp_shootdown},
	{"smp_bad", scen_smp_bad},
	{"smp_stress", scen_smp_stress},
	{"smp_ve", scen_smp_ve},
	{"smp_shared", scen_smp_shared},
	{"smp_trap_step", scen_smp_trap_step},
	{"gi_timer", scen_gi_timer},
	{"gi_held", scen_gi_held},
	{"gi_hlt_timer", scen_gi_hlt_timer},
	{"gi_hlt_stop", scen_gi_hlt_stop},
	{"gi_ipi", scen_gi_ipi},
	{"gi_ping", scen_gi_ping},
	{"gi_bad", scen_gi_bad},
	{"gi_region", scen_gi_region},
	{"gi_region_smp", scen_gi_region_smp},
#ifdef HVLAB_COVERAGE
	{"gcov_probe", scen_gcov_probe},
#endif
};

void guest_exit(u64 status)
{
	hc1(HC_EXIT, status);
	guest_printf("HC_EXIT(%lu) returned\n", status); /* a hypervisor bug: stop here */
	for (;;)
		__asm__ volatile("hlt");
}

static const struct scenario *find_scenario(const char *name)
{
	static const struct scenario fuzz = {"fuzz:", scen_fuzz}; /* "fuzz:TARGET" (guest/fuzz/) */
	if (!strncmp(name, fuzz.name, 5))
		return &fuzz;
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

/* The scenario names, a few per line (the hypervisor forwards lines of up to 160 characters). */
static void list_scenarios(void)
{
	int col = guest_printf("known scenarios:");
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++) {
		if (col + 1 + (int)strlen(scenarios[i].name) > 100)
			col = guest_printf("\n ");
		col += guest_printf(" %s", scenarios[i].name);
	}
	guest_printf("\n");
}

void guest_main(struct hv_boot_info *bi)
{
	cov_guest_start(); /* COVERAGE=1 only: list the objects' counters */
	if (bi->magic != HV_BOOT_MAGIC) {
		guest_printf("bad boot info magic 0x%llx at %p\n", bi->magic, (void *)bi);
		guest_exit(3);
	}
	guest_desc_init();               /* own GDT, TSS, IDT: exceptions are now reported */
	guest_paging_init(bi->ram_size); /* own page tables: RAM only, image pages by rights */
	char name[HV_SCENARIO_MAX];
	memcpy(name, bi->scenario, sizeof(name)); /* bi stays untouched but for out[] */
	name[sizeof(name) - 1] = '\0';
	const struct scenario *s = find_scenario(name);
	if (!s) {
		guest_printf("unknown scenario \"%s\"\n", name);
		list_scenarios();
		guest_exit(2);
	}
	guest_printf("scenario %s: ram_size=0x%llx arg=0x%llx\n", s->name, bi->ram_size, bi->arg);
	s->run(bi);
	guest_printf("scenario %s: done\n", s->name);
	guest_exit(0);
}
