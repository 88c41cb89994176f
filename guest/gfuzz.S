/* gfuzz.S: the code snippets of the "guest_fuzz" scenario (scen_gfuzz.c). They are not run where
 * they are linked: the blob [gfz_blob, gfz_blob_end) is copied to the start of each of the
 * fuzzer's code pages, which may be emulated regions, remapped, trapped or denied in a view, and
 * called at CPL 0 or CPL 3. So every snippet is position-independent and ends in RET (or faults
 * on purpose). A code page holds the blob at GF_BLOB_OFF, and scen_gfuzz.c writes one more
 * instruction across each page boundary (MOV EAX, imm32 from the last 3 bytes of a page into
 * the first 2 of the next, then RET). ABI: RDI = struct gfz_args * (a[0], a[1], ... in user data), result in RAX;
 * RAX, RCX, RDX, RSI, RDI, R8-R11 are clobbered, RBX is preserved. */
#define TF 0x100

	.section .rodata
	.balign 64
	.globl gfz_blob, gfz_blob_end
gfz_blob:

/* Memory: one access each (a[0] = address, a[1] = value), so that a view's SWITCH policy can
 * only act at that access and the fuzzer knows which frame it reached. */
	.globl gfz_load64, gfz_load8, gfz_store64, gfz_store16, gfz_movs
gfz_load64:
	mov (%rdi), %rcx
	mov (%rcx), %rax
	ret
gfz_load8:
	mov (%rdi), %rcx
	movzbl (%rcx), %eax
	ret
gfz_store64:
	mov (%rdi), %rcx
	mov 8(%rdi), %rax
	mov %rax, (%rcx)
	ret
gfz_store16:
	mov (%rdi), %rcx
	mov 8(%rdi), %rax
	mov %ax, (%rcx)
	ret
/* REP MOVSB: a[0] = destination, a[1] = source, a[2] = count; returns RCX (0). */
gfz_movs:
	mov %rdi, %r11
	mov 8(%r11), %rsi
	mov 16(%r11), %rcx
	mov (%r11), %rdi
	cld
	rep movsb
	mov %rcx, %rax
	ret

/* Instructions the hypervisor handles: CPUID, VMCALL, OUT; VMFUNC (a[0] leaf, a[1] index). */
	.globl gfz_cpuid, gfz_version, gfz_hcall, gfz_vmfunc, gfz_out
gfz_cpuid:
	push %rbx
	mov $0x40000000, %eax
	xor %ecx, %ecx
	cpuid                           /* EAX = HV_CPUID_MAX_LEAF */
	pop %rbx
	ret
gfz_version:
	xor %eax, %eax                  /* HC_VERSION */
	vmcall
	ret
/* Any hypercall: a[0] number, a[1..5] arguments (RDI, RSI, RDX, R10, R8). */
gfz_hcall:
	mov %rdi, %r11
	mov (%r11), %rax
	mov 16(%r11), %rsi
	mov 24(%r11), %rdx
	mov 32(%r11), %r10
	mov 40(%r11), %r8
	mov 8(%r11), %rdi
	vmcall
	ret
gfz_vmfunc:
	mov (%rdi), %eax
	mov 8(%rdi), %ecx
	vmfunc
	xor %eax, %eax
	ret
gfz_out:
	mov $0x80, %edx                 /* not COM1: the console stays readable */
	mov $0x5a, %eax
	out %al, %dx
	ret

/* Interrupts and exceptions. The handlers of vectors 1, 3 and 31 count and resume. */
	.globl gfz_int3, gfz_icebp, gfz_intn, gfz_intbad, gfz_ud2, gfz_div0, gfz_hlt
gfz_int3:
	int3
	mov $3, %eax
	ret
gfz_icebp:
	.byte 0xf1                      /* INT1: a #DB with no privilege check */
	mov $1, %eax
	ret
gfz_intn:
	int $0x1f
	mov $0x1f, %eax
	ret
gfz_intbad:
	int $0x40                       /* no gate: #GP(0x40 * 8 + 2) */
	ret
gfz_ud2:
	ud2
gfz_div0:
	xor %ecx, %ecx
	xor %edx, %edx
	mov $1, %eax
	div %rcx
	ret
gfz_hlt:
	hlt                             /* called at CPL 3 only: #GP(0) */
	ret

/* The guest's own single step: TF set by POPF, a #DB after each of the next instructions up to
 * and including the POPF that clears it. */
	.globl gfz_tf, gfz_tf_cpuid, gfz_tf_vmcall
gfz_tf:                                 /* 6 #DBs: NOP ADD NOP PUSHF AND POPF; returns 1 */
	xor %eax, %eax
	pushfq
	orq $TF, (%rsp)
	popfq
	nop
	add $1, %eax
	nop
	pushfq
	andq $~TF, (%rsp)
	popfq
	ret
gfz_tf_cpuid:                           /* 6 #DBs: MOV XOR CPUID PUSHF AND POPF */
	push %rbx
	pushfq
	orq $TF, (%rsp)
	popfq
	mov $0x40000000, %eax
	xor %ecx, %ecx
	cpuid
	pushfq
	andq $~TF, (%rsp)
	popfq
	pop %rbx
	ret
gfz_tf_vmcall:                          /* 5 #DBs: XOR VMCALL PUSHF AND POPF */
	pushfq
	orq $TF, (%rsp)
	popfq
	xor %eax, %eax
	vmcall
	pushfq
	andq $~TF, (%rsp)
	popfq
	ret

/* Code that changes: SMC writes the immediate of the next instruction and runs it (returns
 * (u32)a[0]); IMM's immediate (at gfz_imm + 1) is written by the fuzzer through another mapping
 * of the page before the call. */
	.globl gfz_smc, gfz_imm, gfz_loop, gfz_callret, gfz_callout
gfz_smc:
	mov (%rdi), %eax
	mov %eax, 1f+1(%rip)
1:	mov $0, %eax
	ret
gfz_imm:
	mov $0, %eax
	ret
gfz_loop:                               /* returns 64 + 63 + ... + 1 = 2080 */
	mov $64, %ecx
	xor %eax, %eax
1:	add %ecx, %eax
	loop 1b
	ret
gfz_callret:
	call 1f
	ret
1:	mov $7, %eax
	ret
/* Calls a[1] (a snippet on another code page: out of this page, maybe out of a region, and back
 * in) and returns its result + 1. */
gfz_callout:
	push %rbx
	mov %rdi, %rbx
	call *8(%rbx)
	add $1, %eax
	pop %rbx
	ret

/* Instructions the interpreter must leave to the CPU, or fault on exactly as the CPU does. */
	.globl gfz_rdrand, gfz_rdseed, gfz_rdpid
gfz_rdrand:
	rdrand %rax
	ret
gfz_rdseed:
	rdseed %rax
	ret
gfz_rdpid:
	rdpid %rax
	ret
gfz_blob_end:

	.section .note.GNU-stack, "", @progbits
