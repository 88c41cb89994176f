# guest.mk: builds the guest kernel $(GUEST_ELF), which the hypervisor loads from a GRUB module.
# Included by the top-level Makefile (BUILD, CC, LD, KERNEL_CFLAGS come from there).
GUEST_ELF := $(BUILD)/guest.elf
# COV_GUEST_SRCS: the coverage build's own files (Makefile, COVERAGE=1)
GUEST_SRCS := $(filter-out $(COV_GUEST_SRCS),$(wildcard guest/*.c)) $(GUEST_COV_SRCS) $(wildcard guest/fuzz/*.c)
GUEST_ASM := $(wildcard guest/*.S)
GUEST_SHARED := kernel/format.c kernel/string.c kernel/catch.c # the same printf, string and fault-catching code as the hypervisor's
# The fuzz targets' objects: guest/fuzz/blocks.py lists their basic blocks (coverage breakpoints).
FUZZ_TARGET_OBJS = $(filter-out %/harness.c.o,$(filter $(BUILD)/guest-obj/fuzz/%,$(GUEST_OBJS)))
GUEST_OBJS := $(patsubst guest/%,$(BUILD)/guest-obj/%.o,$(GUEST_ASM) $(GUEST_SRCS)) \
	$(patsubst kernel/%,$(BUILD)/guest-obj/kernel/%.o,$(GUEST_SHARED))
# Ring-3 code lives in its own section: keep GCC from moving cold blocks out of it or
# reaching into .rodata for jump and lookup tables.
GUEST_CFLAGS = $(KERNEL_CFLAGS) -fno-reorder-blocks-and-partition -fno-jump-tables \
	-fno-tree-switch-conversion
GUEST_ASFLAGS := -g -MMD -MP
# The coverage build links with a copy that keeps the constructors (Makefile, COVERAGE=1).
GUEST_LDS ?= guest/guest.ld
GUEST_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack -T $(GUEST_LDS)

$(BUILD)/guest-obj/%.c.o: guest/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(GUEST_CFLAGS) $(COV_INSTR) -c $< -o $@

# The fuzz targets and their harness carry no gcov counters in a COVERAGE=1 build: they are the
# fuzzer's subject, and counters would change its basic blocks, so the campaign (and suite fuzz's
# expectations) would differ from the normal build's.
$(BUILD)/guest-obj/fuzz/%.c.o: guest/fuzz/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

# rgn_cwork.c: compiled C as compilers build it by default (SSE2 allowed), for an emulated region.
$(BUILD)/guest-obj/rgn_cwork.c.o: guest/rgn_cwork.c tests/emu/bench_c.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(filter-out -mno-sse -mno-sse2 -mno-mmx -mno-80387,$(KERNEL_CFLAGS)) -fno-tree-loop-distribute-patterns \
		-c $< -o $@

$(BUILD)/guest-obj/kernel/%.c.o: kernel/%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$< (guest))
	$(Q)$(CC) $(GUEST_CFLAGS) $(COV_INSTR) -c $< -o $@

$(BUILD)/guest-obj/%.S.o: guest/%.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(GUEST_ASFLAGS) -c $< -o $@

# The module keeps its symbols but not its debug info (gdb: $(BUILD)/guest-obj/guest.debug.elf).
# A second link keeps the relocations so that check-user-text.sh can prove that ring-3 code
# stays on user pages (not the module itself: --emit-relocs keeps empty sections).
GUEST_OBJCOPY ?= objcopy
$(GUEST_ELF): $(GUEST_OBJS) $(GUEST_LDS) guest/guest.mk guest/check-user-text.sh guest/fuzz/blocks.py
	$(call say,LD,$@)
	$(Q)$(LD) $(GUEST_LDFLAGS) --emit-relocs -o $(BUILD)/guest-obj/guest.relocs.elf $(GUEST_OBJS)
	$(Q)guest/check-user-text.sh $(BUILD)/guest-obj/guest.relocs.elf
	$(Q)$(LD) $(GUEST_LDFLAGS) -o $(BUILD)/guest-obj/guest.debug.elf $(GUEST_OBJS)
	$(Q)$(GUEST_OBJCOPY) --strip-debug $(BUILD)/guest-obj/guest.debug.elf $@
	$(Q)python3 guest/fuzz/blocks.py $(BUILD)/guest-obj/guest.debug.elf $(BUILD)/guest-obj/fuzzblocks.bin \
		$(FUZZ_TARGET_OBJS) >/dev/null
	$(Q)$(GUEST_OBJCOPY) --add-section .fuzzblocks=$(BUILD)/guest-obj/fuzzblocks.bin $@
	@$(if $(SILENT),:,size $@ | tail -1 | awk '{printf "guest.elf: text %d data %d bss %d bytes\n", $$1, $$2, $$3}')

-include $(GUEST_OBJS:.o=.d)
