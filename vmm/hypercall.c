/* hypercall.c: the hypercall ABI of hypercall.h. The guest is never trusted: the number, the
 * caller's CPL and every argument are checked before anything is done, and each refusal is an
 * error code in RAX (reported on the console unless the VM is quiet). Guest addresses are
 * reached only through vm_gpa(), which bounds them to guest RAM. */
#include "vmm.h"
#include "vmcs.h"

static bool user_callable(u64 nr) { return nr == HC_VERSION || nr == HC_CHECK; }

static s64 hc_get_stats(struct vm *vm, u64 gpa, u64 size)
{
	if (!IS_ALIGNED(gpa, 8) || size < sizeof(struct hv_exit_stats))
		return -HV_EINVAL;
	void *dst = vm_gpa(vm, gpa, size);
	if (!dst)
		return -HV_EFAULT;
	memcpy(dst, &vm->stats, sizeof(vm->stats));
	return sizeof(vm->stats);
}

static s64 hc_check(struct vm *vm, u64 ok, u64 line, u64 gpa, u64 len)
{
	char text[HC_CHECK_TEXT_MAX + 1];
	if (len == 0 || len > HC_CHECK_TEXT_MAX)
		return -HV_EINVAL;
	const char *src = vm_gpa(vm, gpa, len);
	if (!src)
		return -HV_EFAULT;
	memcpy(text, src, len); /* copy first: the guest may change it under us */
	text[len] = '\0';
	if (vm->check)
		vm->check(ok != 0, text);
	else if (!ok)
		printf("# guest check failed (line %lu): %s\n", line, text);
	return 0;
}

static s64 dispatch(struct vm *vm, u64 nr, const u64 *a)
{
	switch (nr) {
	case HC_VERSION:
		return HV_ABI_VERSION;
	case HC_EXIT:
		vm->exit_status = a[0];
		vm->stop = VM_STOP_EXIT;
		return 0;
	case HC_GET_STATS:
		return hc_get_stats(vm, a[0], a[1]);
	case HC_VMXOFF:
		if (a[0] != HC_VMXOFF_MAGIC)
			return -HV_EINVAL;
		vm->stop = VM_STOP_VMXOFF; /* vm_run leaves VMX once the loop ends */
		return 0;
	case HC_CHECK:
		return hc_check(vm, a[0], a[1], a[2], a[3]);
	case HC_VIEW_CREATE:
		return view_create(vm);
	case HC_VIEW_DESTROY:
		return view_destroy(vm, a[0]);
	case HC_VIEW_SET_ACCESS:
		return view_set_access(vm, a[0], a[1], a[2], a[3]);
	case HC_VIEW_GET_ACCESS:
		return view_get_access(vm, a[0], a[1]);
	case HC_VIEW_REMAP:
		return view_remap(vm, a[0], a[1], a[2]);
	case HC_VIEW_SET_VE:
		return view_set_ve(vm, a[0], a[1], a[2], a[3]);
	case HC_VIEW_SWITCH:
		return view_switch(vm, a[0]);
	case HC_VE_REGISTER:
		return ve_register(vm, a[0]);
	case HC_VIEW_SET_POLICY:
		return view_set_policy(vm, a[0], a[1], a[2]);
	case HC_VIOLATIONS_READ:
		return violations_read(vm, a[0], a[1]);
	case HC_TRAP_ADD:
		return trap_add(vm, a[0], a[1], a[2]);
	case HC_TRAP_REMOVE:
		return trap_remove(vm, a[0]);
	case HC_TRAP_HITS:
		return trap_hits(vm, a[0]);
	case HC_REGION_ADD:
		return region_add(vm, a[0], a[1], a[2]);
	case HC_REGION_REMOVE:
		return region_remove(vm, a[0]);
	case HC_REGION_STATS:
		return region_stats(vm, a[0], a[1]);
	case HC_REGION_LOG:
		return region_log(vm, a[0], a[1]);
	case HC_REGION_LOG_READ:
		return region_log_read(vm, a[0], a[1], a[2]);
	case HC_FUZZ_SNAPSHOT:
		return fuzz_hc_snapshot(vm, a[0], a[1]);
	case HC_FUZZ_END:
		return fuzz_hc_end(vm, a[0]);
	case HC_FUZZ_PANIC:
		return fuzz_hc_panic(vm, a[0]);
	case HC_VCPU_START:
		return smp_vcpu_start(vm, a[0], a[1], a[2], a[3]);
	case HC_VCPU_STATUS:
		return smp_vcpu_status(vm, a[0]);
	case HC_VCPU_INFO:
		return smp_vcpu_info(vm);
	case HC_TIMER_ARM:
		return vintr_timer_arm(vm, a[0], a[1], a[2]);
	case HC_VCPU_IPI:
		return vintr_ipi(vm, a[0], a[1]);
	default:
		return -HV_ENOSYS;
	}
}

void hypercall_handle(struct vm *vm)
{
	u64 nr = vm->regs[0];
	u64 args[5] = {vm->regs[7], vm->regs[6], vm->regs[2], vm->regs[10], vm->regs[8]}; /* RDI RSI RDX R10 R8 */
	int cpl = vm_cpl();
	bool locked = smp_vm_lock(vm); /* with several vCPUs, one hypercall at a time changes the VM */
	s64 ret = (cpl > 0 && !user_callable(nr)) || !fuzz_hc_allowed(vm, nr) ? -HV_EPERM : dispatch(vm, nr, args);
	if (locked)
		spin_unlock(&vm->sh->lock);
	vm->stats.hypercalls++;
	if (ret < 0) {
		vm->stats.hypercall_errors++;
		if (!vm->quiet)
			printf("# vm: hypercall %lu from CPL %d refused with %ld\n", nr, cpl, ret);
	}
	vm->regs[0] = (u64)ret;
	vm_skip_instruction(vm);
}
