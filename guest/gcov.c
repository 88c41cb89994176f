/* gcov.c: the guest's coverage runtime, in the COVERAGE=1 build only (docs/testing.md, "Coverage
 * of the hypervisor"). The constructors, which guest_main runs first, list the objects in
 * gcov_guest_root; the hypervisor finds it by name in guest.elf's symbol table and, at the end of
 * each run, adds the counters to its own copies and clears them here (vmm/gcov_guest.c). The
 * guest writes nothing out itself: a run that ends in a triple fault or is stopped keeps its
 * counters too, and no hypercall or I/O is added to what the tests count. Not instrumented. */
#include "guest.h"
#include "../kernel/gcov.h"

struct gcov_guest_root gcov_guest_root = {.magic = GCOV_GUEST_MAGIC};

void __gcov_init(struct gcov_info *info)
{
	info->next = gcov_guest_root.head;
	gcov_guest_root.head = info;
	gcov_guest_root.objects++;
}

void __gcov_exit(void) {}

void __gcov_merge_add(s64 *counters, u32 n)
{
	(void)counters;
	(void)n;
}

extern void (*const __init_array_start[])(void), (*const __init_array_end[])(void);

void cov_guest_start(void)
{
	for (void (*const *f)(void) = __init_array_start; f < __init_array_end; f++)
		(*f)();
}
