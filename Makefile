# hvlab: a teaching and research hypervisor. `make help` lists the targets.
# Layout: kernel/ (platform), vmm/ (VMX), emulator/ (interpreter), guest/, iso/, tests/, docs/.

BUILD   ?= build
# COVERAGE=1: the gcov build of hvlab.elf and guest.elf, in its own folder (see "Coverage" below).
VMCOV   := $(BUILD)/vmcov
ifeq ($(COVERAGE),1)
override BUILD := $(VMCOV)
endif
comma   := ,
space   := $(empty) $(empty)
HOSTCC  ?= gcc
CC      := gcc
LD      := ld
BACKEND ?=
TESTS   ?= all
PYTHON  ?= python3
# make test builds its host tests with one job per CPU (test-host); the rest runs as before.
NPROC   := $(shell nproc 2>/dev/null || echo 2)
# A quiet build: one short line a step ("CC kernel/main.c"); V=1 shows the commands; make -s
# (make run and make debug build that way) shows nothing but errors.
V       ?=
SILENT  := $(findstring s,$(firstword -$(MAKEFLAGS)))
Q       := $(if $(filter 1,$(V)),,@)
say      = $(if $(filter 1,$(V))$(SILENT),,@printf '  %-5s %s\n' '$(1)' '$(2)')

KERNEL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-omit-frame-pointer -mno-red-zone -mno-mmx -mno-sse -mno-sse2 \
	-mno-80387 -mcmodel=kernel -fno-asynchronous-unwind-tables -MMD -MP
KERNEL_ASFLAGS := -g -MMD -MP
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack

KERNEL_SRCS := $(wildcard kernel/*.c) $(wildcard vmm/*.c) tests/ktap.c tests/suites.c \
	$(wildcard tests/test_*.c) $(wildcard tests/hostile_*.c) $(wildcard tests/bench_*.c)
KERNEL_ASM  := kernel/boot.S kernel/trap_entry.S kernel/irq_entry.S vmm/vmx_entry.S

# Coverage of the hypervisor (docs/testing.md, "Coverage of the hypervisor"). COVERAGE=1 compiles
# every C file of hvlab.elf and guest.elf with gcc's -fprofile-arcs but the runtimes (the
# coverage machinery is not what the report measures), adds the
# runtimes and the selftest_gcov suite, and links with copies of the linker scripts that keep
# the constructors (.init_array, in rodata). Without it none of this is built: the normal build
# is unchanged.
COV_KERNEL_SRCS := kernel/gcov.c kernel/gcov_data.c vmm/gcov_guest.c tests/cov_selftest.c
COV_GUEST_SRCS := guest/gcov.c guest/scen_gcov.c
COV_RUNTIME := kernel/gcov.c kernel/gcov_data.c vmm/gcov_guest.c # not instrumented
KERNEL_SRCS := $(filter-out $(COV_KERNEL_SRCS),$(KERNEL_SRCS))
KERNEL_LDS := kernel/linker.ld
ifeq ($(COVERAGE),1)
KERNEL_CFLAGS += -DHVLAB_COVERAGE
COV_INSTR := -fprofile-arcs -ftest-coverage
KERNEL_SRCS += $(COV_KERNEL_SRCS)
GUEST_COV_SRCS := $(COV_GUEST_SRCS)
KERNEL_LDS := $(BUILD)/kernel-cov.ld
GUEST_LDS := $(BUILD)/guest-cov.ld
$(patsubst %,$(BUILD)/obj/%.o,$(COV_RUNTIME)) $(BUILD)/guest-obj/gcov.c.o: COV_INSTR :=
endif
# cov_lds: a copy of a linker script whose rodata also holds .init_array (between
# __init_array_start and __init_array_end) and that drops .fini_array.
cov_lds = sed -e 's/\*(\.rodata \.rodata\.\*)/& . = ALIGN(8); __init_array_start = .; KEEP(*(SORT_BY_INIT_PRIORITY(.init_array.*) .init_array)) __init_array_end = .;/' \
	-e 's/\/DISCARD\/ : {/& *(.fini_array .fini_array.*)/' $(1) > $(2) && grep -q __init_array_end $(2)
$(BUILD)/kernel-cov.ld: kernel/linker.ld Makefile
	@mkdir -p $(dir $@)
	$(call cov_lds,$<,$@)
$(BUILD)/guest-cov.ld: guest/guest.ld Makefile
	@mkdir -p $(dir $@)
	$(call cov_lds,$<,$@)

PHONY_FUZZ := fuzz fuzz-repro bench-fuzz
.PHONY: $(PHONY_FUZZ) all help clean run debug test test-vm test-smp test-fuzz test-models test-edges test-extra test-host unit gcov-unit coverage bench exercise grade check-exercises check-docs deps-% FORCE
all: $(BUILD)/hvlab.elf $(BUILD)/hvlab.iso $(BUILD)/hvlab-test.iso

help:
	@echo "hvlab targets:"
	@echo "  make            build build/hvlab.elf, build/hvlab.iso (menu) and build/hvlab-test.iso"
	@echo "  make run        boot the interactive ISO: GRUB's menu in the terminal (arrows, Enter)"
	@echo "                  (BACKEND=qemu-kvm|bochs|qemu-tcg, default: auto; CPU=MODEL for Bochs;"
	@echo "                  SCENARIO=NAME: one guest scenario, no menu; CMDLINE=\"WORDS\": more kernel words)"
	@echo "  make debug      boot paused under a debugger (QEMU gdb stub, or Bochs's debugger with symbols)"
	@echo "  make test       install missing tools, build, run host tests and the test ISO"
	@echo "                  (TESTS=boot,vmxon selects suites; BACKEND=... one backend only)"
	@echo "  make test-vm    only the test ISO on the matrix (TESTS=..., BACKEND=bochs: the Bochs rows)"
	@echo "  make test-fuzz    suite fuzz on corei7_ivy_bridge_3770k (write protection only)"
	@echo "  make test-smp     4 CPUs: the SMP suites (skylake_x, tigerlake) and the whole test ISO (tigerlake)"
	@echo "  make test-models  the test ISO under every Bochs CPU model (PASS or SKIP each)"
	@echo "  make test-extra   the rows of test-fuzz, test-smp and test-models in one pool (CI)"
	@echo "  make test-edges   the test ISO on 32 and 48 MiB (Bochs) and 8 GiB (QEMU TCG)"
	@echo "  make unit       host unit tests only"
	@echo "  make coverage   host tests and the test ISO's matrix with gcov (COVERAGE=1 build),"
	@echo "                  one lcov report in build/coverage/ (make run ... COVERAGE=1: one run's)"
	@echo "  make bench      exit-cost benchmark (a benchmark, not a test) under Bochs/KVM"
	@echo "  make exercise EX=NN   a student tree in exercises/NN (DIR=... elsewhere); never overwrites one"
	@echo "  make grade EX=NN      boot exercise NN's tests on this tree, print Score: a/b"
	@echo "  make check-exercises  every grader passes on this tree and fails on its stripped tree"
	@echo "  make check-docs       run the commands README.md and docs/ quote, compare the expected output"
	@echo "  make clean      remove build/ (never exercises/, your student trees)"
	@echo "  V=1             show the build's commands (a quiet build shows one line a step)"
	@echo "Emulator: make emu-unit difftest N=... bench-emu fuzz-emu (see docs/emulator.md)"

-include emulator/emulator.mk
-include guest/guest.mk
GUEST_ELF ?=
# The interpreter runs inside the hypervisor for emulated regions (vmm/region.c).
KERNEL_SRCS += $(EMU_SRCS)
KERNEL_OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(KERNEL_ASM) $(KERNEL_SRCS))

$(BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(KERNEL_CFLAGS) $(COV_INSTR) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(KERNEL_ASFLAGS) -c $< -o $@

$(BUILD)/hvlab.elf: $(KERNEL_OBJS) $(KERNEL_LDS)
	$(call say,LD,$@)
	$(Q)$(LD) $(KERNEL_LDFLAGS) -T $(KERNEL_LDS) -o $@ $(KERNEL_OBJS)
	@$(if $(SILENT),:,size $@ | tail -1 | awk '{printf "hvlab.elf: text %d data %d bss %d bytes\n", $$1, $$2, $$3}')

# The test ISO's command line comes from TESTS; the stamp changes only when TESTS does.
$(BUILD)/tests.cmdline: FORCE
	@mkdir -p $(BUILD)
	@echo "$(TESTS)" | cmp -s - $@ || echo "$(TESTS)" > $@

$(BUILD)/hvlab.iso: $(BUILD)/hvlab.elf $(GUEST_ELF) iso/grub.cfg iso/mkiso.sh
	$(call say,ISO,$@)
	$(Q)iso/mkiso.sh $@ $(BUILD)/hvlab.elf iso/grub.cfg $(GUEST_ELF)

# $(call test_cfg,SUITES,EXTRA WORDS,OUT): a test ISO's GRUB configuration.
test_cfg = sed -e "s/@TESTS@/$(1)/" -e "s/@EXTRA@/$(if $(2), $(2))/" iso/grub-test.cfg.in > $(3)
TEST_ISO_DEPS := $(BUILD)/hvlab.elf $(GUEST_ELF) iso/grub-test.cfg.in iso/mkiso.sh $(BUILD)/tests.cmdline

$(BUILD)/hvlab-test.iso: $(TEST_ISO_DEPS)
	$(call say,ISO,$@)
	$(Q)$(call test_cfg,$$(cat $(BUILD)/tests.cmdline),,$(BUILD)/grub-test.cfg)
	$(Q)iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-test.cfg $(GUEST_ELF)

# The same suites for the nested-KVM profile of the matrix (tests/host/hvboot.py PROFILES):
# tigerlake with EPT-violation #VE hidden, as KVM gives an L1 hypervisor VMFUNC and MTF but no #VE.
$(BUILD)/hvlab-test-nkvm.iso: $(TEST_ISO_DEPS)
	$(call say,ISO,$@)
	$(Q)$(call test_cfg,$$(cat $(BUILD)/tests.cmdline),vmx_mask=ve,$(BUILD)/grub-test-nkvm.cfg)
	$(Q)iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-test-nkvm.cfg $(GUEST_ELF)
# The SMP rows of the matrix (names ending in -xN: tests/host/hvboot.py) boot the suites that need
# several CPUs; `make test-smp` boots the whole test ISO on 4 CPUs.
SMP_SUITES := boot,smp,shootdown,shootdown_stress,guest_interrupts
$(BUILD)/hvlab-test-smp.iso: $(TEST_ISO_DEPS)
	$(call say,ISO,$@)
	$(Q)$(call test_cfg,$$(t=$$(cat $(BUILD)/tests.cmdline); [ "$$t" = all ] && echo "$(SMP_SUITES)" || echo "$$t"),,$(BUILD)/grub-test-smp.cfg)
	$(Q)iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-test-smp.cfg $(GUEST_ELF)
# The fuzzing rows (-fuzz profiles) boot suite fuzz, which tests=all leaves out (its time).
$(BUILD)/hvlab-test-fuzz.iso: $(TEST_ISO_DEPS)
	$(call say,ISO,$@)
	$(Q)$(call test_cfg,$$(t=$$(cat $(BUILD)/tests.cmdline); [ "$$t" = all ] && echo fuzz || echo "$$t"),,$(BUILD)/grub-test-fuzz.cfg)
	$(Q)iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-test-fuzz.cfg $(GUEST_ELF)
TEST_ISOS := $(BUILD)/hvlab-test.iso $(BUILD)/hvlab-test-nkvm.iso $(BUILD)/hvlab-test-smp.iso $(BUILD)/hvlab-test-fuzz.iso

# The KTAP library's self-test: fails on purpose (used by tests/host/test_runner.py).
$(BUILD)/hvlab-selftest.iso: $(BUILD)/hvlab.elf $(GUEST_ELF) iso/grub-test.cfg.in iso/mkiso.sh
	$(call test_cfg,selftest_ktap$(comma)boot,,$(BUILD)/grub-selftest.cfg)
	iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-selftest.cfg $(GUEST_ELF)

deps-%:
	@tests/host/deps.sh $*

# make run SCENARIO=NAME boots one guest scenario without the menu (docs/exercises/);
# CMDLINE="WORDS" adds words to its kernel command line (e.g. vmcs_dump=CPUID; scenario ve
# unless SCENARIO says otherwise).
RUN_ISO := $(if $(SCENARIO)$(CMDLINE),$(BUILD)/hvlab-scenario.iso,$(BUILD)/hvlab.iso)
$(BUILD)/hvlab-scenario.iso: $(BUILD)/hvlab.elf $(GUEST_ELF) iso/grub-scenario.cfg.in iso/mkiso.sh FORCE
	@sed -e "s/@SCENARIO@/$(or $(SCENARIO),ve)/" -e "s/@CMDLINE@/$(if $(CMDLINE), $(CMDLINE))/" \
		iso/grub-scenario.cfg.in > $(BUILD)/grub-scenario.cfg
	@iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-scenario.cfg $(GUEST_ELF)

run: deps-run $(if $(COV_INSTR),deps-coverage)
	@$(MAKE) -s --no-print-directory $(RUN_ISO)
ifeq ($(COVERAGE),1)
	@status=0; tests/host/boot --interactive --iso $(RUN_ISO) $(if $(BACKEND),--backend $(BACKEND)) --build $(BUILD) \
		--elf $(BUILD)/hvlab.elf --lpt $(BUILD)/run/counters.gcov || status=1; \
	$(PYTHON) tests/host/coverage.py run --build $(BUILD) --dump $(BUILD)/run/counters.gcov \
		--name run_$(or $(SCENARIO),menu) --out $(BUILD)/run/coverage || status=1; exit $$status
else
	@tests/host/boot --interactive --iso $(RUN_ISO) $(if $(BACKEND),--backend $(BACKEND))
endif

debug: deps-run
	@$(MAKE) -s --no-print-directory $(RUN_ISO)
	@tests/host/boot --debug --iso $(RUN_ISO) --elf $(BUILD)/hvlab.elf --guest-elf $(BUILD)/guest-obj/guest.debug.elf \
		$(if $(BACKEND),--backend $(BACKEND))

# make test: tools first, then everything in one sub-make so the checks see the tools.
# The test ISO's matrix runs before check-docs, which then checks README's quoted `make test-vm
# BACKEND=` against that output (the same command when BACKEND and TESTS are unset) instead of
# booting the matrix twice; the matrix's totals ("tests: N passed, ...") are printed again last.
DOCS_REUSE := $(if $(BACKEND)$(filter-out all,$(TESTS)),,make test-vm BACKEND=@$(CURDIR)/$(BUILD)/test-vm.out)
test: deps-test
	@$(MAKE) --no-print-directory -j$(NPROC) --output-sync=target test-host
	@{ $(MAKE) --no-print-directory test-vm; echo $$? > $(BUILD)/test-vm.status; } 2>&1 | tee $(BUILD)/test-vm.out
	@$(MAKE) --no-print-directory check-exercises FULL_FROM=$(BUILD)/test
	@status=$$(cat $(BUILD)/test-vm.status); rm -f $(BUILD)/test-vm.status; \
	HVLAB_DOCS_REUSE="$(DOCS_REUSE)" $(MAKE) --no-print-directory check-docs || status=1; \
	echo "make test: the test ISO's matrix (above, before check-docs):"; \
	grep -E '^(boots|tests): ' $(BUILD)/test-vm.out; \
	exit $$status

test-host: unit $(if $(EMU_SRCS),emu-difftest emu-freestanding) $(BUILD)/hvlab-selftest.iso
	HVLAB_SELFTEST_ISO=$(BUILD)/hvlab-selftest.iso HVLAB_BOOT_TESTS=1 $(PYTHON) tests/host/unittests.py

# Host unit tests of hypervisor logic that needs no VMX (tests/unit/), plus the emulator's.
UNIT_SRCS := $(wildcard tests/unit/*.c) vmm/ept.c vmm/caps.c vmm/gwalk.c vmm/vmcs_check.c vmm/vmcs_check_guest.c kernel/mb2.c
UNIT_CFLAGS := -std=gnu11 -g -Wall -Wextra -Werror -Wno-format
$(BUILD)/unit/hvlab-unit: $(UNIT_SRCS) $(wildcard tests/unit/*.h vmm/*.h kernel/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(UNIT_CFLAGS) -O1 -o $@ $(UNIT_SRCS)
$(BUILD)/cov/hvlab-unit: $(UNIT_SRCS) $(wildcard tests/unit/*.h vmm/*.h kernel/*.h)
	@rm -rf $(BUILD)/cov && mkdir -p $(BUILD)/cov
	cd $(BUILD)/cov && $(HOSTCC) $(UNIT_CFLAGS) -O0 --coverage -o hvlab-unit $(addprefix $(CURDIR)/,$(UNIT_SRCS))

unit: $(BUILD)/unit/hvlab-unit $(if $(EMU_SRCS),emu-unit) gcov-unit
	$(BUILD)/unit/hvlab-unit

# The coverage build's encoder (kernel/gcov_data.c) against libgcov (tests/gcov/encode.c): the
# same counters must give the same .gcda bytes. encode.c and the encoder are not instrumented.
GCOV_UNIT := $(BUILD)/unit/gcov
$(GCOV_UNIT)/encode: tests/gcov/encode.c tests/gcov/subject.c kernel/gcov_data.c kernel/gcov.h
	@rm -rf $(GCOV_UNIT) && mkdir -p $(GCOV_UNIT)
	cd $(GCOV_UNIT) && $(HOSTCC) $(UNIT_CFLAGS) -O2 --coverage -c $(CURDIR)/tests/gcov/subject.c -o subject.o
	$(HOSTCC) $(UNIT_CFLAGS) -O2 -o $@ tests/gcov/encode.c kernel/gcov_data.c $(GCOV_UNIT)/subject.o \
		-lgcov -Wl,--wrap=__gcov_init
$(GCOV_UNIT)/stream.bin: $(GCOV_UNIT)/encode
	@rm -f $(GCOV_UNIT)/subject.gcda
	$(GCOV_UNIT)/encode $(GCOV_UNIT) >/dev/null
gcov-unit: $(GCOV_UNIT)/stream.bin
	@cmp $(GCOV_UNIT)/hvlab.gcda $(GCOV_UNIT)/subject.gcda && \
		echo "gcov encoder: the same .gcda as libgcov's ($$(stat -c %s $(GCOV_UNIT)/subject.gcda) bytes)"

# Coverage (docs/testing.md, "Coverage of the hypervisor"): the host tests (emulator/ with its
# unit and differential tests, emu-coverage in emulator/emulator.mk; tests/unit), then the test
# ISO of the COVERAGE=1 build on the whole matrix and the interactive run in the ways the matrix
# cannot boot it, each boot's counters captured under its own lcov test name, then the coverage
# runtime's self-tests (an exception and a panic still dump;
# exact call counts), all merged into build/coverage/index.html. It fails when a dump is damaged
# or lost, or the coverage build's KTAP results differ from the normal build's (make test-vm's,
# run again here when they are older than the test ISO).
LCOV_RC := --rc lcov_branch_coverage=1
COV_BACKEND := $(if $(BACKEND),--backend $(BACKEND))
coverage: deps-test
	@$(MAKE) --no-print-directory $(if $(EMU_SRCS),emu-coverage) $(BUILD)/cov/hvlab-unit
	$(BUILD)/cov/hvlab-unit
	lcov --quiet $(LCOV_RC) --capture --directory $(BUILD)/cov --output-file $(BUILD)/cov/all.info
	lcov --quiet $(LCOV_RC) --extract $(BUILD)/cov/all.info '*/vmm/*' '*/kernel/*' --output-file $(BUILD)/coverage/hvlab.info
	@$(MAKE) --no-print-directory TESTS=all $(TEST_ISOS)
	@$(MAKE) --no-print-directory COVERAGE=1 TESTS=all $(VMCOV)/hvlab-test.iso $(VMCOV)/hvlab-test-nkvm.iso \
		$(VMCOV)/hvlab-test-smp.iso $(VMCOV)/hvlab-test-fuzz.iso $(VMCOV)/hvlab-gcov-crash.iso $(VMCOV)/hvlab-gcov-panic.iso
	@status=0; \
	if [ $(BUILD)/test/results.ktap -nt $(BUILD)/hvlab-test.iso ] && [ $(BUILD)/test/results.ktap -nt $(BUILD)/hvlab-test-nkvm.iso ]; then \
		echo "coverage: the normal build's results to compare with: make test-vm's, $(BUILD)/test"; \
	else \
		echo "coverage: the normal build's matrix first, to compare with"; \
		$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --out $(BUILD)/test $(COV_BACKEND) || status=1; \
	fi; \
	echo "coverage: the COVERAGE=1 build's matrix"; \
	$(PYTHON) tests/host/run.py --iso $(VMCOV)/hvlab-test.iso --out $(VMCOV)/test --coverage --timeout 600 $(COV_BACKEND) || status=1; \
	echo "coverage: the interactive runs (make run: vmm/main.c)"; \
	$(PYTHON) tests/host/coverage.py runs --build $(VMCOV) --out $(VMCOV)/runs || status=1; \
	echo "coverage: the runtime's self-tests (an exception and a panic end the boots on purpose)"; \
	$(PYTHON) tests/host/run.py --iso $(VMCOV)/hvlab-gcov-crash.iso --out $(VMCOV)/selftest --coverage \
		--backend bochs --cpu corei7_skylake_x --accept CRASH >/dev/null; \
	$(PYTHON) tests/host/run.py --iso $(VMCOV)/hvlab-gcov-panic.iso --out $(VMCOV)/selftest-panic --coverage \
		--backend qemu-tcg --accept CRASH >/dev/null; \
	$(PYTHON) tests/host/coverage.py selftest --build $(VMCOV) --runs $(VMCOV)/selftest --runs $(VMCOV)/selftest-panic \
		--final "exit 0x13" || status=1; \
	$(PYTHON) tests/host/coverage.py matrix --build $(VMCOV) --runs $(VMCOV)/test --together $(VMCOV)/runs --normal $(BUILD)/test \
		--host $(BUILD)/coverage/emu.info --host $(BUILD)/coverage/hvlab.info --out $(BUILD)/coverage || status=1; \
	exit $$status

# The coverage runtime's self-test ISOs (COVERAGE=1 builds): selftest_gcov, then a boot that ends
# with a hypervisor exception (Bochs, with a guest) or a panic (QEMU TCG); each must still dump.
$(BUILD)/hvlab-gcov-%.iso: $(BUILD)/hvlab.elf $(GUEST_ELF) iso/grub-test.cfg.in iso/mkiso.sh
	$(call test_cfg,selftest_gcov$(comma)selftest_$*,,$(BUILD)/grub-gcov-$*.cfg)
	iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-gcov-$*.cfg $(GUEST_ELF)

# The matrix (tests/host/run.py, docs/testing.md), two boots at a time.
test-vm: $(TEST_ISOS)
	$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --out $(BUILD)/test $(if $(BACKEND),--backend $(BACKEND)) --tests "$(TESTS)"

# 4 CPUs (too slow for make test; .ci/run runs it): the SMP suites on corei7_skylake_x-x4 and
# tigerlake-x4, and on 2 CPUs where VMFUNC is emulated and #VE is the hypervisor's (ivy_bridge);
# then the whole test ISO on tigerlake-x4.
# Suite fuzz on a CPU without EPT A/D flags or PML (write protection only); too slow for make
# test (about 75 s), .ci/run runs it.
FUZZ_ROWS := --cpu corei7_ivy_bridge_3770k-fuzz
SMP_ROWS := --cpu corei7_skylake_x-x4 --cpu tigerlake-x4 --cpu corei7_ivy_bridge_3770k-x2
MODEL_ROWS := --cpu all --reuse $(BUILD)/test
SMP_FULL := $(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --out $(BUILD)/test-smp-full --backend bochs \
	--cpu tigerlake-x4 --smp-full
test-fuzz: deps-test $(TEST_ISOS)
	$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --out $(BUILD)/test-fuzz --backend bochs $(FUZZ_ROWS)

test-smp: deps-test $(TEST_ISOS)
	@status=0; \
	$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --out $(BUILD)/test-smp --backend bochs \
		$(SMP_ROWS) || status=1; \
	$(SMP_FULL) || status=1; \
	exit $$status

# .ci/run: the rows of test-fuzz, test-smp and test-models in one pool of two boots (the
# longest first), so that no core waits while a target's last boot runs; then test-smp's
# whole-ISO boot. The same boots as the three targets one after another.
test-extra: deps-test $(TEST_ISOS)
	@status=0; \
	$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --out $(BUILD)/test-extra --backend bochs \
		$(FUZZ_ROWS) $(SMP_ROWS) $(MODEL_ROWS) --timeout 300 || status=1; \
	$(SMP_FULL) || status=1; \
	exit $$status

# Every CPU model `bochs --help cpu` lists must end PASS, or SKIP with its reason.
test-models: deps-test $(BUILD)/hvlab-test.iso
	$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --out $(BUILD)/test-models \
		--backend bochs $(MODEL_ROWS) --timeout 240

# Machines at the edges of memory: Bochs with 32 and 48 MiB, QEMU TCG with 8 GiB. Each must end
# with a result (PASS, SKIP, or ERROR with its reason); a FAIL, TIMEOUT or CRASH fails the target.
EDGES := $(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-test.iso --timeout 240 --accept PASS,SKIP,ERROR
test-edges: deps-test $(BUILD)/hvlab-test.iso
	@status=0; \
	$(EDGES) --out $(BUILD)/test-edges/bochs --backend bochs --cpu corei7_skylake_x --megs 32 --megs 48 || status=1; \
	$(EDGES) --out $(BUILD)/test-edges/qemu --backend qemu-tcg --megs 8192 || status=1; \
	exit $$status

# Benchmarks: the bench_* suites on their own ISO; prints the "# bench:" lines of each boot.
BENCH_SUITES := bench_exits bench_views bench_regions bench_smp
BENCH_CPUS := --cpu corei7_skylake_x --cpu corei7_ivy_bridge_3770k --cpu tigerlake-x4
$(BUILD)/hvlab-bench.iso: $(BUILD)/hvlab.elf $(GUEST_ELF) iso/grub-test.cfg.in iso/mkiso.sh
	$(call test_cfg,$(subst $(space),$(comma),$(BENCH_SUITES)),,$(BUILD)/grub-bench.cfg)
	iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-bench.cfg $(GUEST_ELF)

bench: deps-test
	@$(MAKE) --no-print-directory $(BUILD)/hvlab-bench.iso && mkdir -p $(BUILD)/bench
	@$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-bench.iso --out $(BUILD)/bench --no-caps-check --smp-full \
		$(if $(BACKEND),--backend $(BACKEND),--backend bochs $(BENCH_CPUS)) >$(BUILD)/bench/summary.txt 2>&1 || \
		{ cat $(BUILD)/bench/summary.txt; exit 1; }
	@for f in $(BUILD)/bench/logs/*.log; do echo "$$(basename $$f .log):"; grep '^# bench:' $$f; done

# Snapshot fuzzing (docs/fuzzing.md): make fuzz TARGET=NAME [SECONDS=60] [EXECS=N] [SEED=1] [DIRTY=wp|ad|pml]
# [COVERAGE=bp|edges|none] [CORPUS=DIR] [CPU=corei7_skylake_x] [BACKEND=bochs]; make fuzz-repro TARGET=NAME INPUT=FILE.
# (COVERAGE=1 stays the gcov build's switch; the fuzzer's modes are words.)
FUZZ_FLAGS = --target "$(TARGET)" --seconds $(or $(SECONDS),60) --execs $(or $(EXECS),0) --seed $(or $(SEED),1) --dirty $(or $(DIRTY),wp) \
	--coverage $(or $(filter-out 1,$(COVERAGE)),bp) --cpu $(or $(CPU),corei7_skylake_x) --backend $(or $(BACKEND),bochs) \
	--build $(BUILD) $(if $(CORPUS),--corpus "$(CORPUS)")
fuzz: $(BUILD)/hvlab.elf $(GUEST_ELF)
	@$(PYTHON) tests/host/fuzz.py run $(FUZZ_FLAGS)
fuzz-repro: $(BUILD)/hvlab.elf $(GUEST_ELF)
	@$(PYTHON) tests/host/fuzz.py repro $(FUZZ_FLAGS) --input "$(INPUT)"

# make bench-fuzz: the bench_fuzz suite on corei7_skylake_x and tigerlake, side by side.
$(BUILD)/hvlab-bench-fuzz.iso: $(BUILD)/hvlab.elf $(GUEST_ELF) iso/grub-test.cfg.in iso/mkiso.sh
	$(call test_cfg,bench_fuzz,,$(BUILD)/grub-bench-fuzz.cfg)
	iso/mkiso.sh $@ $(BUILD)/hvlab.elf $(BUILD)/grub-bench-fuzz.cfg $(GUEST_ELF)
bench-fuzz: deps-test
	@$(MAKE) --no-print-directory $(BUILD)/hvlab-bench-fuzz.iso && mkdir -p $(BUILD)/bench-fuzz
	@$(PYTHON) tests/host/run.py --iso $(BUILD)/hvlab-bench-fuzz.iso --out $(BUILD)/bench-fuzz --no-caps-check \
		--backend bochs --cpu corei7_skylake_x --cpu tigerlake --timeout 1200 >$(BUILD)/bench-fuzz/summary.txt 2>&1 || \
		{ cat $(BUILD)/bench-fuzz/summary.txt; exit 1; }
	@for f in $(BUILD)/bench-fuzz/logs/*.log; do echo "$$(basename $$f .log):"; grep '^# bench:' $$f; done

# Exercises (docs/README.md "Exercises and grading"; the grader is tests/host/grade.py).
# Student trees live in exercises/NN (git ignores it; neither make clean nor any test touches it).
exercise:
	@$(PYTHON) tests/host/grade.py --strip $(EX) $(if $(DIR),--out $(DIR))

# A partial score is a result, not a failure of make: only a tree that does not build fails.
grade: deps-test
	@$(PYTHON) tests/host/grade.py --partial-ok $(EX)

check-exercises: deps-test
	$(PYTHON) tests/host/grade.py --check $(if $(FULL_FROM),--full-from $(FULL_FROM))

# Every command README.md and docs/ quote is run and its expected output compared (tests/host/check_docs.py).
check-docs: deps-test
	$(PYTHON) tests/host/check_docs.py

clean:
	rm -rf $(BUILD)

-include $(KERNEL_OBJS:.o=.d)
