/* vmx_entry.S: VM entry and the VM-exit landing point (HOST_RIP).
 * int vmx_enter(u64 *regs, int launched): loads the guest GPRs from regs[] (indexed by x86
 * register number: rax, rcx, rdx, rbx, rsp (unused: RSP lives in the VMCS), rbp, rsi, rdi,
 * r8..r15), then VMLAUNCH (launched == 0) or VMRESUME. Returns 0 after a VM exit (regs[] holds
 * the guest GPRs), 1 on VMfailInvalid, 2 on VMfailValid (SDM "VMLAUNCH/VMRESUME"). */
#define HOST_RSP 0x6c14
	.text
	.globl vmx_enter
vmx_enter:
	push %rbx                       /* host callee-saved registers: restored after the exit */
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi                       /* regs pointer: found again at (%rsp) after the exit */
	mov $HOST_RSP, %rax
	vmwrite %rsp, %rax              /* the exit lands with exactly this RSP */
	jbe entry_failed                /* CF or ZF set: VMWRITE failed */
	mov %esi, %eax                  /* launched flag; tested after the loads below */
	test %eax, %eax
	mov 8*1(%rdi), %rcx             /* guest GPRs (MOV does not change flags) */
	mov 8*2(%rdi), %rdx
	mov 8*3(%rdi), %rbx
	mov 8*5(%rdi), %rbp
	mov 8*6(%rdi), %rsi
	mov 8*8(%rdi), %r8
	mov 8*9(%rdi), %r9
	mov 8*10(%rdi), %r10
	mov 8*11(%rdi), %r11
	mov 8*12(%rdi), %r12
	mov 8*13(%rdi), %r13
	mov 8*14(%rdi), %r14
	mov 8*15(%rdi), %r15
	mov 8*0(%rdi), %rax
	mov 8*7(%rdi), %rdi             /* last: rdi was the pointer */
	jnz 1f
	vmlaunch
	jmp entry_failed                /* only reached when VMLAUNCH fails */
1:	vmresume
entry_failed:
	setc %al                        /* 1 = VMfailInvalid, 2 = VMfailValid */
	movzbl %al, %eax
	jc 2f
	mov $2, %eax
2:	pop %rdi
	jmp restore_host

	.globl vmx_exit_stub
vmx_exit_stub:                          /* HOST_RIP: RSP = HOST_RSP, guest GPRs live */
	push %rdi                       /* guest rdi */
	mov 8(%rsp), %rdi               /* regs pointer */
	mov %rax, 8*0(%rdi)
	mov %rcx, 8*1(%rdi)
	mov %rdx, 8*2(%rdi)
	mov %rbx, 8*3(%rdi)
	mov %rbp, 8*5(%rdi)
	mov %rsi, 8*6(%rdi)
	pop %rax
	mov %rax, 8*7(%rdi)
	mov %r8, 8*8(%rdi)
	mov %r9, 8*9(%rdi)
	mov %r10, 8*10(%rdi)
	mov %r11, 8*11(%rdi)
	mov %r12, 8*12(%rdi)
	mov %r13, 8*13(%rdi)
	mov %r14, 8*14(%rdi)
	mov %r15, 8*15(%rdi)
	pop %rdi
	xor %eax, %eax
restore_host:
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret
