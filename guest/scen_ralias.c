/* scen_ralias.c: "regions_alias": code of a GVA region executed through another linear
 * address of the same physical page: it must still run (emulated) and return fib(15). (It once
 * made the hypervisor loop: the interpreter was given the registered linear range only.) */
#include "region.h"

#define ALIAS_VA (96 * MiB)

/* out: 0 fib(15) through the alias, 1 entries, 2 instructions */
void scen_regions_alias(struct hv_boot_info *bi)
{
	guest_map_4k(ALIAS_VA, (u64)rgn_fib_page, GUEST_MAP_X);
	void *fib = (void *)(ALIAS_VA + (rgn_fib - rgn_fib_page));
	struct rgn_regs r = {.rflags = 2};
	r.gpr[7] = 15;
	GEXPECT_EQ(rgn_invoke(&r, fib), 610); /* natively, through the alias */
	s64 id = rgn_add(rgn_fib_page, PAGE_SIZE);
	GEXPECT(id >= 0);
	guest_printf("regions_alias: calling the region's code through its alias at %p\n", fib);
	r = (struct rgn_regs){.rflags = 2};
	r.gpr[7] = 15;
	u64 v = rgn_invoke(&r, fib);
	struct hv_region_stats st = rgn_stats(id);
	rgn_remove(id);
	GEXPECT_EQ(v, 610);
	GEXPECT(st.entries >= 1);
	bi->out[0] = v, bi->out[1] = st.entries, bi->out[2] = st.instructions;
}
