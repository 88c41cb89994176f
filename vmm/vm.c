/* vm.c: a guest: its RAM (one contiguous host allocation, never shared with the hypervisor),
 * the EPT that maps exactly that RAM, its VMCS and bitmaps, the ELF loader and boot structures
 * of the boot contract in hypercall.h, and the run loop. A VM can be created, run and
 * destroyed many times per boot, so each test gets fresh memory and a fresh VMCS. */
#include "vmm.h"
#include "vmcs.h"
#include "../kernel/x86.h"
#include "../emulator/emu.h"

#define COM1 0x3f8
#define GUEST_RAM_ALIGN (2UL << 20)

static u16 next_vpid = 1;

const char *vm_stop_str(enum vm_stop s)
{
	static const char *const names[] = {"running", "HC_EXIT", "HLT", "triple fault", "EPT violation",
					    "EPT misconfiguration", "VM-entry failure", "VMX off",
					    "refused guest operation", "unhandled exit", "watchdog",
					    "hypervisor invariant", "fuzzing event", "kicked: its VM ended"};
	return s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* The I/O bitmap makes every port exit (the guest has no devices of its own). The MSR bitmap
 * lets reads through and intercepts writes, except the MSRs VM entry/exit switch or the
 * hypervisor does not use (SDM "MSR-Bitmap Address": read-low, read-high, write-low,
 * write-high, 1 KiB each). Reads of IA32_FEATURE_CONTROL and the VMX MSRs are intercepted. */
static void msr_intercept(u8 *bm, u32 msr, bool read, bool write, bool on)
{
	/* EXERCISE(05): set (on) or clear the read and/or write bit of msr in the MSR bitmap bm
	 * (docs/exercises/05-io-msr.md). [uses bm, msr, read, write, on] */
	u32 base = msr >= 0xc0000000 ? 1024 : 0, bit = msr & 0x1fff;
	u8 *r = bm + base + bit / 8, *w = bm + 2048 + base + bit / 8;
	if (read)
		*r = on ? (*r | (1 << (bit % 8))) : (*r & ~(1 << (bit % 8)));
	if (write)
		*w = on ? (*w | (1 << (bit % 8))) : (*w & ~(1 << (bit % 8)));
	/* END EXERCISE(05) */
}

static void setup_bitmaps(struct vm *vm)
{
	static const u32 write_through[] = {MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_EFER,
					    MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
					    0xc0000081 /* STAR */, 0xc0000082 /* LSTAR */, 0xc0000083 /* CSTAR */,
					    0xc0000084 /* FMASK */, 0xc0000103 /* TSC_AUX */};
	memset(vm->io_bitmap, 0xff, 2 * PAGE_SIZE);
	memset((u8 *)vm->msr_bitmap + 2048, 0xff, 2048); /* all writes exit ... */
	for (u64 i = 0; i < ARRAY_SIZE(write_through); i++)
		msr_intercept(vm->msr_bitmap, write_through[i], false, true, false); /* ... but these */
	msr_intercept(vm->msr_bitmap, MSR_IA32_FEATURE_CONTROL, true, false, true);
	for (u32 m = MSR_IA32_VMX_BASIC; m <= MSR_IA32_VMX_VMFUNC; m++)
		msr_intercept(vm->msr_bitmap, m, true, false, true);
}

static void write_boot_structures(struct vm *vm, const char *scenario, u64 arg);

/* Does the monitor trap flag work? Bochs 2.7 advertises it on some models but never raises it
 * (its MTF execution control is not implemented), so ask the CPU once: a two-byte guest (NOP;
 * HLT) entered with MTF set must exit with MONITOR_TRAP_FLAG after the NOP. */
static void probe_mtf(void)
{
	static struct vm probe;
	static const u8 code[] = {0x90, 0xf4};
	if (!vmx_caps.mtf || vm_create(&probe, 2UL << 20)) {
		step_set_mtf_works(false);
		return;
	}
	memcpy(vm_gpa(&probe, HV_BOOT_RESERVED_END, sizeof(code)), code, sizeof(code));
	write_boot_structures(&probe, "mtf-probe", 0);
	vm_boot_raw(&probe, HV_BOOT_RESERVED_END);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmcs_read(CPU_BASED_VM_EXEC_CONTROL) | CPU_BASED_MONITOR_TRAP_FLAG);
	int rc = vmx_enter(probe.regs, 0);
	u32 reason = rc ? ~0U : vmcs_read(VM_EXIT_REASON) & 0xffff;
	bool works = reason == EXIT_REASON_MONITOR_TRAP_FLAG && vmcs_read(GUEST_RIP) == HV_BOOT_RESERVED_END + 1;
	step_set_mtf_works(works);
	if (!works)
		printf("# vmx: the CPU advertises the monitor trap flag but it does not fire (the probe's NOP; HLT "
		       "ended with %s); single steps use RFLAGS.TF\n", rc ? "a failed VM entry" : exit_reason_str(reason));
	vm_destroy(&probe);
}

int vm_create(struct vm *vm, u64 ram_size)
{
	static bool probed;
	memset(vm, 0, sizeof(*vm));
	vm->sh = &vm->shared;
	vm->shared.lock = (struct spinlock)SPINLOCK_INIT("vm");
	if (!vmx_is_on() || ram_size == 0 || !IS_ALIGNED(ram_size, GUEST_RAM_ALIGN) || ram_size > (1UL << 30))
		return -1;
	if (!probed) {
		probed = true;
		probe_mtf();
	}
	vm->ram_size = ram_size;
	vm->ram = kalloc_pages(ram_size / PAGE_SIZE, GUEST_RAM_ALIGN);
	vm->vmcs = vmx_alloc_region(&vmx_caps);
	vm->io_bitmap = kalloc_pages(2, PAGE_SIZE);
	vm->msr_bitmap = kalloc_page();
	vm->sh->eptp_list = kalloc_page();
	if (!vm->ram || !vm->vmcs || !vm->io_bitmap || !vm->msr_bitmap || !vm->sh->eptp_list || policy_init(vm) ||
	    view_create(vm) != 0) {
		vm_destroy(vm);
		return -1;
	}
	vm->vpid = vmx_caps.vpid ? next_vpid++ : 0;
	vm->watchdog_tsc = watchdog_default_tsc;
	setup_bitmaps(vm);
	if (vmcs_setup(vm)) {
		vm_destroy(vm);
		return -1;
	}
	return 0;
}

/* Gives back everything vm_create took; safe on a VM whose creation failed half-way. A VPID is
 * flushed (INVVPID) before it may be handed out again. */
void vm_destroy(struct vm *vm)
{
	if (!vm->sh) /* never created: its own, empty, shared part */
		vm->sh = &vm->shared;
	if (vm->fuzz) /* fuzzing state first: it puts the VMCS and the policy back (fuzz.c) */
		fuzz_detach(vm);
	smp_vm_destroy(vm); /* the other vCPUs first (smp_vm.c) */
	if (vm->vmcs && vmx_is_on()) /* after HC_VMXOFF there is nothing to clear */
		__vmclear((u64)vm->vmcs);
	if (vm->vpid && vmx_is_on() && vmx_caps.invvpid &&
	    VMX_CHECK("INVVPID", __invvpid(vmx_caps.invvpid_single ? VMX_VPID_EXTENT_SINGLE_CONTEXT
								  : VMX_VPID_EXTENT_ALL_CONTEXT, vm->vpid, 0)) == VMX_OK &&
	    vm->vpid == next_vpid - 1)
		next_vpid--;
	views_destroy_all(vm);
	if (vm->sh->eptp_list)
		kfree_page(vm->sh->eptp_list);
	region_free_all(vm);
	policy_fini(vm);
	if (vm->emu)
		kfree_pages(vm->emu, ALIGN_UP(sizeof(struct emu), PAGE_SIZE) / PAGE_SIZE);
	if (vm->ram)
		kfree_pages(vm->ram, vm->ram_size / PAGE_SIZE);
	if (vm->vmcs)
		kfree_page(vm->vmcs);
	if (vm->io_bitmap)
		kfree_pages(vm->io_bitmap, 2);
	if (vm->msr_bitmap)
		kfree_page(vm->msr_bitmap);
	memset(vm, 0, sizeof(*vm));
}

/* Host pointer for [gpa, gpa+size) of guest RAM, or NULL when any of it lies outside.
 * Every guest-supplied address goes through here (overflow-safe). */
void *vm_gpa(struct vm *vm, u64 gpa, u64 size)
{
	if (gpa >= vm->ram_size || size > vm->ram_size - gpa)
		return NULL;
	return vm->ram + gpa;
}

struct hv_boot_info *vm_boot_info(struct vm *vm) { return vm_gpa(vm, HV_BOOT_INFO_GPA, sizeof(struct hv_boot_info)); }

bool guest_module(const u8 **start, u64 *size)
{
	for (int i = 0; i < boot_info.nmodules; i++)
		if (!strcmp(boot_info.modules[i].cmdline, "guest")) {
			*start = (const u8 *)boot_info.modules[i].start;
			*size = boot_info.modules[i].end - boot_info.modules[i].start;
			return true;
		}
	return false;
}

/* ELF64 loader: every PT_LOAD segment must lie in guest RAM at or above HV_BOOT_RESERVED_END
 * and inside the file; the entry point must be inside a loaded segment. */
struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
};

int vm_load_elf(struct vm *vm, const u8 *elf, u64 size, u64 *entry)
{
	if (size < 64 || memcmp(elf, "\x7f" "ELF", 4) || elf[4] != 2 || elf[5] != 1 || *(const u16 *)(elf + 18) != 62)
		return -1;
	u64 phoff = *(const u64 *)(elf + 32);
	u16 phentsize = *(const u16 *)(elf + 54), phnum = *(const u16 *)(elf + 56);
	bool entry_ok = false;
	*entry = *(const u64 *)(elf + 24);
	if (phentsize < sizeof(struct elf64_phdr) || phoff > size || (u64)phnum * phentsize > size - phoff)
		return -1;
	for (u16 i = 0; i < phnum; i++) {
		const struct elf64_phdr *ph = (const void *)(elf + phoff + (u64)i * phentsize);
		if (ph->type != 1 /* PT_LOAD */ || ph->memsz == 0)
			continue;
		u8 *dst = vm_gpa(vm, ph->paddr, ph->memsz);
		if (!dst || ph->paddr < HV_BOOT_RESERVED_END || ph->filesz > ph->memsz || ph->offset > size ||
		    ph->filesz > size - ph->offset)
			return -1;
		memcpy(dst, elf + ph->offset, ph->filesz);
		memset(dst + ph->filesz, 0, ph->memsz - ph->filesz);
		entry_ok |= *entry >= ph->paddr && *entry - ph->paddr < ph->memsz;
	}
	return entry_ok ? 0 : -1;
}

/* GDT, page tables (1 GiB identity, 2 MiB pages) and boot info, as hypercall.h promises. */
static void write_boot_structures(struct vm *vm, const char *scenario, u64 arg)
{
	u64 *gdt = vm_gpa(vm, HV_BOOT_GDT_GPA, PAGE_SIZE);
	u64 *pml4 = vm_gpa(vm, HV_BOOT_PML4_GPA, 3 * PAGE_SIZE), *pdpt = pml4 + 512, *pd = pml4 + 1024;
	memset(gdt, 0, PAGE_SIZE);
	gdt[1] = 0x00af9a000000ffffUL; /* 0x08: 64-bit code */
	gdt[2] = 0x00cf92000000ffffUL; /* 0x10: data */
	memset(pml4, 0, 3 * PAGE_SIZE);
	pml4[0] = (HV_BOOT_PML4_GPA + PAGE_SIZE) | 3;    /* present, writable */
	pdpt[0] = (HV_BOOT_PML4_GPA + 2 * PAGE_SIZE) | 3;
	for (u64 i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	struct hv_boot_info *bi = vm_boot_info(vm);
	memset(bi, 0, sizeof(*bi));
	bi->magic = HV_BOOT_MAGIC;
	bi->ram_size = vm->ram_size;
	bi->arg = arg;
	snprintf(bi->scenario, sizeof(bi->scenario), "%s", scenario);
}

/* (Re)load the guest kernel module and reset the vCPU to the boot contract's entry state.
 * Other guest RAM keeps its contents. */
int vm_boot(struct vm *vm, const char *scenario, u64 arg)
{
	const u8 *elf;
	u64 size, entry;
	if (!guest_module(&elf, &size)) {
		printf("# vm: no guest module (a GRUB module2 line with the argument 'guest')\n");
		return -1;
	}
	if (vm_load_elf(vm, elf, size, &entry)) {
		printf("# vm: the guest module is not a loadable x86-64 ELF for this guest RAM\n");
		return -1;
	}
	write_boot_structures(vm, scenario, arg);
	if (VMX_CHECK("VMPTRLD", __vmptrld((u64)vm->vmcs)))
		return -1;
	vm_boot_raw(vm, entry);
	return 0;
}

/* The vCPU at the boot contract's entry state with RIP = rip (the boot structures written by
 * vm_boot; the MTF probe runs two bytes of code without them). The VMCS must be current. */
void vm_boot_raw(struct vm *vm, u64 rip)
{
	vmcs_guest_reset(vm, rip, HV_BOOT_STACK_TOP, HV_BOOT_PML4_GPA);
	vm->regs[7] = HV_BOOT_INFO_GPA; /* RDI */
	memset(&vm->stats, 0, sizeof(vm->stats));
	vm->line_len = 0;
}

static void flush_line(struct vm *vm)
{
	if (vm->line_len)
		printf("%s%.*s\n", vm->console_prefix ? vm->console_prefix : "[guest] ", vm->line_len, vm->line);
	vm->line_len = 0;
}

/* COM1 output from the guest, forwarded line by line with a prefix. */
void vm_console_putc(struct vm *vm, char c)
{
	if (c == '\n' || vm->line_len == (int)sizeof(vm->line))
		flush_line(vm);
	if (c != '\n' && c != '\r')
		vm->line[vm->line_len++] = c;
}

static void entry_failed(struct vm *vm, int status)
{
	u64 err = status == 2 ? vmcs_read(VM_INSTRUCTION_ERROR) : 0;
	vm->entry_error = err;
	printf("# vm: VM entry failed: %s", status == 1 ? "VMfailInvalid" : "VMfailValid");
	if (status == 2)
		printf(", error %lu: %s", err, vmx_insn_error_str(err));
	printf("\n");
	vm_dump_guest(vm);
	vm->stop = VM_STOP_ENTRY_FAILED;
}

/* One exit: the step ends first (whatever the exit), then the dispatcher. */
static void one_exit(struct vm *vm, u32 reason)
{
	vm->stats.total++;
	vm->last_exits[vm->stats.total % VM_LAST_EXITS] = reason;
	if (reason < HV_STATS_REASONS)
		vm->stats.by_reason[reason]++;
	if (vm->in_region) /* an exit while executing inside an emulated region */
		vm->sh->regions[vm->in_region - 1].stats.exits++;
	vcpu_read_exit(vm, reason);
	/* A region instruction stepped on the CPU is still inside the region while its own exit
	 * is handled (a hypercall from region code sees it); after that the next fetch from the
	 * region re-enters the interpreter, unless this exit already did. */
	u64 entries = vm->region_entries;
	bool region_step = vm->step.open && vm->in_region;
	vm->step.chain = false;
	if (vm->step.open && step_end(vm)) {
		if (region_step)
			vm->in_region = 0;
		return; /* it only said the step was over */
	}
	if (!vm->step.chain)
		vm->insn_seq++; /* the step's instruction, continued on another page, is the same one */
	if (watchdog_expired(vm))
		return watchdog_report(vm);
	exit_handle(vm, reason);
	if (region_step && vm->region_entries == entries && !vm->step.open)
		vm->in_region = 0;
}

enum vm_stop vm_run(struct vm *vm)
{
	if (VMX_CHECK("VMPTRLD", __vmptrld((u64)vm->vmcs)))
		return vm->stop = VM_STOP_ENTRY_FAILED;
	vm->stop = VM_RUNNING;
	u64 t0 = vm->run_start = rdtsc();
	vm->run_deadline = vm->watchdog_tsc ? t0 + vm->watchdog_tsc : 0;
	vm->timer_left = 0;
	bool told = false; /* vmcs_check has named a rule this VMCS breaks */
	while (vm->stop == VM_RUNNING) {
		watchdog_arm(vm);
		vintr_before_entry(vm); /* a pending guest interrupt, or the window for it (vintr.c) */
		if (!vm->launched) /* the VM-entry checks in software first (vmcs_check.c) */
			told = vmcs_check("before VMLAUNCH", false);
		if (!smp_enter_guest(vm)) /* another vCPU's step holds this one out (smp_vm.c) */
			break;
		int r = vmx_enter(vm->regs, vm->launched);
		smp_left_guest(vm);
		if (r) {
			entry_failed(vm, r);
			if (!told)
				vmcs_check("after the failed VM entry", true);
			break;
		}
		vm->launched = true;
		u32 reason = vm->exit_reason = vmcs_read(VM_EXIT_REASON);
		if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
			printf("# vm: VM entry failed on guest state: exit reason %u (%s), qualification 0x%lx\n",
			       reason & 0xffff, exit_reason_str(reason & 0xffff), vmcs_read(EXIT_QUALIFICATION));
			vm_dump_guest(vm);
			if (!told)
				vmcs_check("after the failed VM entry", true);
			vm->stop = VM_STOP_ENTRY_FAILED;
			break;
		}
		one_exit(vm, reason & 0xffff);
	}
	step_abort(vm);
	vm->in_region = 0;
	vintr_run_end(vm);
	if (vm->smp && vm->vcpu_id == 0) /* the boot vCPU ends the VM: stop the others */
		smp_vm_stop_all(vm);
	flush_line(vm);
	vm->run_tsc = rdtsc() - t0;
	if (!vm->cov_later)
		cov_guest_collect(vm); /* COVERAGE=1 only: the guest's counters of this run */
	if (vm->stop == VM_STOP_VMXOFF) { /* HC_VMXOFF: leave VMX and come back here, cleanly */
		__vmclear((u64)vm->vmcs);
		vmx_off();
	}
	return vm->stop;
}

void vm_print_stats(const struct vm *vm)
{
	printf("# vm: stopped by %s after %llu exits, %lu TSC cycles:", vm_stop_str(vm->stop), vm->stats.total,
	       vm->run_tsc);
	for (int i = 0; i < HV_STATS_REASONS; i++)
		if (vm->stats.by_reason[i])
			printf(" %s=%llu", exit_reason_str(i), vm->stats.by_reason[i]);
	printf("\n");
}

/* After any EPT change: drop cached translations for every view's EPTP (view_invalidate), and
 * the VPID's linear translations. Forgetting this is why a changed permission may never fault
 * (the views_invept scenario and views.split_only_where_needed check it). */
int vm_invalidate(struct vm *vm)
{
	const struct vmx_caps *c = &vmx_caps;
	for (u32 v = 0; v < HV_VIEW_MAX; v++)
		if (vm->sh->view_live[v] && view_invalidate(vm, v))
			return -1;
	if (vm->vpid && c->invvpid) {
		u64 vt = c->invvpid_single ? VMX_VPID_EXTENT_SINGLE_CONTEXT : VMX_VPID_EXTENT_ALL_CONTEXT;
		if (VMX_CHECK("INVVPID", __invvpid(vt, vm->vpid, 0)))
			return -1;
	}
	return 0;
}

/* Reads n bytes at a guest-linear address: one page walk per page touched. 0, or -1 if any byte
 * is unreachable. */
int vm_read_guest(struct vm *vm, u64 gva, void *buf, u64 n, u32 access)
{
	for (u64 done = 0; done < n;) {
		u64 gpa, chunk = PAGE_SIZE - ((gva + done) & (PAGE_SIZE - 1));
		u32 pf;
		u8 *p;
		if (chunk > n - done)
			chunk = n - done;
		if (vm_gva_to_gpa(vm, gva + done, access, &gpa, &pf) || !(p = vm_gpa(vm, gpa, chunk)))
			return -1;
		memcpy((u8 *)buf + done, p, chunk);
		done += chunk;
	}
	return 0;
}
