/* snapshot.c: what a fuzzing snapshot holds and how it comes back. Saved once: the GPRs, the
 * VMCS guest-state fields (RIP, RSP, RFLAGS, control registers and their shadows, segments,
 * descriptor tables, DR7, EFER, PAT, DEBUGCTL, SYSENTER, interruptibility, activity, pending
 * debug exceptions, the event to inject), the MSRs the guest writes without an exit (vm.c's
 * write-through list not in the VMCS), XCR0 and the extended state (XSAVE), the view, and a copy
 * of all guest RAM. Restored: the state every time, RAM only page by page (dirty.c says which). */
#include "fuzz.h"
#include "vmcs.h"
#include "../kernel/x86.h"

static const u32 fields[] = {
	GUEST_RIP, GUEST_RSP, GUEST_RFLAGS, GUEST_CR0, GUEST_CR3, GUEST_CR4, CR0_READ_SHADOW, CR4_READ_SHADOW,
	GUEST_DR7, GUEST_IA32_EFER, GUEST_IA32_PAT, GUEST_IA32_DEBUGCTL, GUEST_SYSENTER_CS, GUEST_SYSENTER_ESP,
	GUEST_SYSENTER_EIP, GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT,
	GUEST_INTERRUPTIBILITY_INFO, GUEST_ACTIVITY_STATE, GUEST_PENDING_DBG_EXCEPTIONS,
	VM_ENTRY_INTR_INFO_FIELD, VM_ENTRY_EXCEPTION_ERROR_CODE, VM_ENTRY_INSTRUCTION_LEN,
	/* ES, CS, SS, DS, FS, GS, LDTR, TR: selector, base, limit, access rights */
	GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_FS_SELECTOR,
	GUEST_GS_SELECTOR, GUEST_LDTR_SELECTOR, GUEST_TR_SELECTOR, GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE,
	GUEST_DS_BASE, GUEST_FS_BASE, GUEST_GS_BASE, GUEST_LDTR_BASE, GUEST_TR_BASE, GUEST_ES_LIMIT, GUEST_CS_LIMIT,
	GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_FS_LIMIT, GUEST_GS_LIMIT, GUEST_LDTR_LIMIT, GUEST_TR_LIMIT,
	GUEST_ES_AR_BYTES, GUEST_CS_AR_BYTES, GUEST_SS_AR_BYTES, GUEST_DS_AR_BYTES, GUEST_FS_AR_BYTES,
	GUEST_GS_AR_BYTES, GUEST_LDTR_AR_BYTES, GUEST_TR_AR_BYTES,
};
#define NFIELDS ARRAY_SIZE(fields)
/* Guest-writable MSRs that neither VM entry nor VM exit switches (vm.c lets their writes
 * through): KERNEL_GS_BASE, STAR, LSTAR, CSTAR, FMASK, TSC_AUX. */
static const u32 msrs[] = {MSR_KERNEL_GS_BASE, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000103};
#define XSAVE_PAGES 2

static bool have_xsave(void) { return read_cr4() & X86_CR4_OSXSAVE; }

static u64 xgetbv0(void)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}

int snap_alloc(struct vm *vm, struct fuzz_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->ram = kalloc_pages(vm->ram_size / PAGE_SIZE, PAGE_SIZE);
	s->fields = kalloc_page();
	s->xsave = kalloc_pages(XSAVE_PAGES, PAGE_SIZE);
	if (!s->ram || !s->fields || !s->xsave) {
		snap_free(vm, s);
		return -1;
	}
	return 0;
}

void snap_free(struct vm *vm, struct fuzz_snap *s)
{
	if (s->ram)
		kfree_pages(s->ram, vm->ram_size / PAGE_SIZE);
	if (s->fields)
		kfree_page(s->fields);
	if (s->xsave)
		kfree_pages(s->xsave, XSAVE_PAGES);
	memset(s, 0, sizeof(*s));
}

/* Page copies 8 bytes a step (memcpy's REP MOVSB takes 8 times the steps under Bochs). */
static void copy_pages(void *d, const void *src, u64 bytes)
{
	u64 n = bytes / 8;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
}

/* The x87/SSE/AVX state the guest left in the CPU (the hypervisor uses none of it). XSAVE saves
 * the components XCR0 enables (SDM "XSAVE"); without OSXSAVE, FXSAVE. */
static void save_ext(struct fuzz_snap *s)
{
	if (have_xsave()) {
		s->xcr0 = xgetbv0();
		memset(s->xsave, 0, XSAVE_PAGES * PAGE_SIZE);
		__asm__ volatile("xsave64 (%0)" ::"r"(s->xsave), "a"((u32)s->xcr0), "d"((u32)(s->xcr0 >> 32)) : "memory");
	} else {
		__asm__ volatile("fxsave64 (%0)" ::"r"(s->xsave) : "memory");
	}
}

static void restore_ext(const struct fuzz_snap *s)
{
	if (have_xsave()) {
		if (xgetbv0() != s->xcr0)
			__asm__ volatile("xsetbv" ::"a"((u32)s->xcr0), "d"((u32)(s->xcr0 >> 32)), "c"(0));
		__asm__ volatile("xrstor64 (%0)" ::"r"(s->xsave), "a"((u32)s->xcr0), "d"((u32)(s->xcr0 >> 32)) : "memory");
	} else {
		__asm__ volatile("fxrstor64 (%0)" ::"r"(s->xsave) : "memory");
	}
}

void snap_take(struct vm *vm, struct fuzz_snap *s)
{
	memcpy(s->regs, vm->regs, sizeof(s->regs));
	for (u64 i = 0; i < NFIELDS; i++)
		s->fields[i] = vmcs_read(fields[i]);
	for (u64 i = 0; i < ARRAY_SIZE(msrs); i++)
		if (rdmsr_safe(msrs[i], &s->msrs[i]))
			s->msrs[i] = 0;
	save_ext(s);
	s->view = view_current(vm);
	copy_pages(s->ram, vm->ram, vm->ram_size);
}

/* Everything but RAM. An event the iteration left pending (VM-entry interruption information)
 * is overwritten by the saved field. */
void snap_restore_state(struct vm *vm, const struct fuzz_snap *s)
{
	memcpy(vm->regs, s->regs, sizeof(vm->regs));
	for (u64 i = 0; i < NFIELDS; i++)
		vmcs_write(fields[i], s->fields[i]);
	for (u64 i = 0; i < ARRAY_SIZE(msrs); i++) {
		u64 now;
		if (!rdmsr_safe(msrs[i], &now) && now != s->msrs[i])
			wrmsr(msrs[i], s->msrs[i]);
	}
	restore_ext(s);
	if (view_current(vm) != s->view)
		view_switch(vm, s->view);
}

void snap_restore_page(struct vm *vm, const struct fuzz_snap *s, u64 frame)
{
	copy_pages(vm->ram + frame * PAGE_SIZE, s->ram + frame * PAGE_SIZE, PAGE_SIZE);
}

/* FNV-1a over 8-byte words: for tests (restore is exact), not for security. */
static u64 mix(u64 h, const void *p, u64 n)
{
	const u64 *w = p;
	for (u64 i = 0; i < n / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3UL;
	return h;
}

/* The hash of the guest as it is now / as saved: RAM, GPRs, the saved fields, the MSRs. */
u64 snap_hash_now(struct vm *vm)
{
	u64 h = mix(0xcbf29ce484222325UL, vm->ram, vm->ram_size), f[NFIELDS], m[ARRAY_SIZE(msrs)];
	for (u64 i = 0; i < NFIELDS; i++)
		f[i] = vmcs_read(fields[i]);
	for (u64 i = 0; i < ARRAY_SIZE(msrs); i++)
		if (rdmsr_safe(msrs[i], &m[i]))
			m[i] = 0;
	h = mix(h, vm->regs, sizeof(vm->regs));
	h = mix(h, f, sizeof(f));
	return mix(h, m, sizeof(m)) ^ view_current(vm);
}

u64 snap_hash_saved(struct vm *vm, const struct fuzz_snap *s)
{
	u64 h = mix(0xcbf29ce484222325UL, s->ram, vm->ram_size);
	h = mix(h, s->regs, sizeof(s->regs));
	h = mix(h, s->fields, NFIELDS * 8);
	return mix(h, s->msrs, ARRAY_SIZE(msrs) * 8) ^ s->view;
}
