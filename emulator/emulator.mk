# emulator.mk - build fragment for the x86-64 interpreter (included by the
# top-level Makefile, which defines BUILD, HOSTCC and KERNEL_CFLAGS).
# EMU_SRCS is what the hypervisor links (freestanding); the targets below
# build host test programs under $(BUILD)/emu and $(BUILD)/coverage.

EMU_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
EMU_SRCS := $(addprefix $(EMU_DIR)/,decode.c sse_tab.c alu.c bits.c ctl.c string.c sse.c ext.c mem.c fuse.c run.c)
EMU_HDRS := $(EMU_DIR)/emu.h $(EMU_DIR)/emu_internal.h
EMU_TDIR := $(EMU_DIR)/../tests/emu
EMU_OUT := $(BUILD)/emu
EMU_HOSTCC ?= $(HOSTCC)
EMU_CLANG ?= clang
# No SLP vectorisation: the hypervisor builds the interpreter without SSE, so
# it never merges two 8-byte stores (e.g. two lazy-flag words) into one
# through an XMM register; the host builds then run the same instructions.
EMU_HOST_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -g -fno-tree-slp-vectorize
N ?= 1000000
SEED ?= 1
FUZZ_SECONDS ?= 60

EMU_DIFF_SRCS := $(EMU_TDIR)/difftest.c $(EMU_TDIR)/gen.c $(EMU_TDIR)/gen_ops.c $(EMU_TDIR)/gen_sse.c
EMU_UNIT_SRCS := $(EMU_TDIR)/unit.c $(EMU_TDIR)/unit_hand.c $(EMU_TDIR)/unit_state.c $(EMU_TDIR)/unit_edges.c $(EMU_TDIR)/unit_cases.c
EMU_BENCH_SRCS := $(EMU_TDIR)/bench.c $(EMU_TDIR)/bench_work.c $(EMU_TDIR)/bench_idmem.h

$(EMU_OUT)/unit: $(EMU_SRCS) $(EMU_HDRS) $(EMU_UNIT_SRCS) $(EMU_TDIR)/unit.h $(EMU_TDIR)/ucase.h
	@mkdir -p $(@D)
	$(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -o $@ $(EMU_UNIT_SRCS) $(EMU_SRCS)

$(EMU_OUT)/difftest: $(EMU_SRCS) $(EMU_HDRS) $(EMU_DIFF_SRCS) $(EMU_TDIR)/gen.h $(EMU_TDIR)/gen_internal.h
	@mkdir -p $(@D)
	$(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -o $@ $(EMU_DIFF_SRCS) $(EMU_SRCS)

# Benchmark workloads: bench_work.c with general registers only (-O2, no
# vectorisation), bench_c.c three times as compilers build code by default
# (SSE2, or up to SSE4.2 with -march=x86-64-v2). No stack protector (the
# emulated run has no FS base) and no libc calls (checked: nm -u is empty).
EMU_CW_FLAGS := -std=gnu11 -Wall -Wextra -Werror -gdwarf-4 -fno-stack-protector -fcf-protection=none
$(EMU_OUT)/bench: $(EMU_SRCS) $(EMU_HDRS) $(EMU_BENCH_SRCS) $(EMU_TDIR)/bench_c.c $(EMU_DIR)/emulator.mk
	@mkdir -p $(@D)
	$(EMU_HOSTCC) -std=gnu11 -Wall -Wextra -Werror -O2 -g -c -o $(EMU_OUT)/bench_work.o \
		-fno-tree-vectorize -mno-sse -mno-mmx -mgeneral-regs-only -fno-pic -fcf-protection=none \
		-fno-stack-protector $(EMU_TDIR)/bench_work.c
	$(EMU_HOSTCC) $(EMU_CW_FLAGS) -O2 -fno-tree-loop-distribute-patterns -DV=o2 -c -o $(EMU_OUT)/bench_o2.o $(EMU_TDIR)/bench_c.c
	$(EMU_HOSTCC) $(EMU_CW_FLAGS) -O3 -march=x86-64-v2 -fno-tree-loop-distribute-patterns -DV=o3v2 \
		-c -o $(EMU_OUT)/bench_o3v2.o $(EMU_TDIR)/bench_c.c
	$(EMU_CLANG) $(EMU_CW_FLAGS) -O2 -fno-builtin -DV=clang -c -o $(EMU_OUT)/bench_clang.o $(EMU_TDIR)/bench_c.c
	@for o in o2 o3v2 clang; do test -z "$$(nm -u $(EMU_OUT)/bench_$$o.o)" || { echo "bench_$$o.o calls out"; exit 1; }; done
	$(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -o $@ $(EMU_TDIR)/bench.c $(EMU_OUT)/bench_work.o $(EMU_OUT)/bench_o2.o \
		$(EMU_OUT)/bench_o3v2.o $(EMU_OUT)/bench_clang.o $(EMU_SRCS)

# Same-process comparison with an old interpreter (docs/emulator.md "Measured"):
# EMU_OLD's emulator/ is taken from git and linked with bench_call.c into one
# object whose only global symbol is old_call; this tree's likewise (new_call).
EMU_OLD ?= 02878d4
$(EMU_OUT)/old.o: $(EMU_TDIR)/bench_call.c $(EMU_TDIR)/bench_idmem.h $(EMU_DIR)/emulator.mk
	@rm -rf $(EMU_OUT)/old && mkdir -p $(EMU_OUT)/old/emulator
	for f in $$(git ls-tree --name-only $(EMU_OLD) emulator/ | grep '\.[ch]$$'); do \
		git show $(EMU_OLD):$$f >$(EMU_OUT)/old/$$f || exit 1; done
	cd $(EMU_OUT)/old && for f in emulator/*.c; do $(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -c $$f -o $${f%.c}.o || exit 1; done
	$(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -I$(EMU_OUT)/old/emulator -DCALL=old_call -c -o $(EMU_OUT)/old/call.o $<
	ld -r -o $@.r.o $(EMU_OUT)/old/call.o $(EMU_OUT)/old/emulator/*.o && objcopy -G old_call $@.r.o $@
$(EMU_OUT)/new.o: $(EMU_TDIR)/bench_call.c $(EMU_TDIR)/bench_idmem.h $(EMU_SRCS) $(EMU_HDRS)
	@mkdir -p $(EMU_OUT)/new
	$(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -I$(EMU_DIR) -DCALL=new_call -c -o $(EMU_OUT)/new/call.o $<
	for f in $(EMU_SRCS); do $(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -c $$f -o $(EMU_OUT)/new/$$(basename $$f .c).o || exit 1; done
	ld -r -o $@.r.o $(EMU_OUT)/new/*.o && objcopy -G new_call $@.r.o $@
$(EMU_OUT)/bench_cmp: $(EMU_TDIR)/bench_cmp.c $(EMU_OUT)/old.o $(EMU_OUT)/new.o $(EMU_OUT)/bench
	$(EMU_HOSTCC) $(EMU_HOST_CFLAGS) -o $@ $< $(EMU_OUT)/bench_work.o $(EMU_OUT)/old.o $(EMU_OUT)/new.o

.PHONY: emu-unit emu-difftest difftest bench-emu bench-emu-cmp emu-coverage fuzz-emu emu-freestanding

emu-unit: $(EMU_OUT)/unit
	$(EMU_OUT)/unit

emu-difftest: $(EMU_OUT)/difftest
	$(EMU_OUT)/difftest -n 20000 -s 1

difftest: $(EMU_OUT)/difftest
	$(EMU_OUT)/difftest -n $(N) -s $(SEED)

bench-emu-cmp: $(EMU_OUT)/bench_cmp
	$(EMU_OUT)/bench_cmp

bench-emu: $(EMU_OUT)/bench
	$(EMU_OUT)/bench
	sh $(EMU_TDIR)/bench_callgrind.sh $(EMU_OUT)/bench $(EMU_OUT)

# Compile every EMU_SRCS file the way the hypervisor does.
emu-freestanding:
	@mkdir -p $(EMU_OUT)/fs
	@for f in $(EMU_SRCS); do \
		$(EMU_HOSTCC) -std=c11 -ffreestanding -mno-red-zone -mno-sse -mno-mmx -mcmodel=kernel \
		-fno-pic -nostdlib -O2 -Wall -Wextra -Werror -c $$f -o $(EMU_OUT)/fs/$$(basename $$f .c).o || exit 1; \
	done; echo "freestanding build OK: $(notdir $(EMU_SRCS))"

# Instrumented build (gcc --coverage), unit + a difftest batch, lcov HTML.
# -O1: the operation/size-specialised handlers are inlined copies of generic
# bodies with constant operands; -O1 folds those constants, so branch coverage
# counts real decisions (at -O0 every copy's constant branches count).
EMU_COV := $(BUILD)/coverage
emu-coverage:
	@rm -rf $(EMU_COV) && mkdir -p $(EMU_COV)/obj
	@# the two builds at once (each about 20 s on one core; their .gcno names differ: unit-*, difftest-*)
	$(EMU_HOSTCC) -std=gnu11 -O1 -g --coverage -o $(EMU_COV)/obj/unit $(EMU_UNIT_SRCS) $(EMU_SRCS) & pid=$$!; \
	$(EMU_HOSTCC) -std=gnu11 -O1 -g --coverage -o $(EMU_COV)/obj/difftest $(EMU_DIFF_SRCS) $(EMU_SRCS) && wait $$pid
	cd $(EMU_COV)/obj && ./unit >/dev/null && ./difftest -n 100000 -s 7
	lcov -q --rc lcov_branch_coverage=1 --capture --directory $(EMU_COV)/obj 2>$(EMU_COV)/lcov.log \
		--output-file $(EMU_COV)/all.info
	lcov -q --rc lcov_branch_coverage=1 --extract $(EMU_COV)/all.info '*/emulator/*' \
		--output-file $(EMU_COV)/emu.info
	genhtml -q --branch-coverage --output-directory $(EMU_COV) $(EMU_COV)/emu.info
	@lcov --rc lcov_branch_coverage=1 --summary $(EMU_COV)/emu.info 2>&1 | grep -E 'lines|branches'
	@echo "report: $(EMU_COV)/index.html"

# libFuzzer harness over decode + execute, with ASan and UBSan.
fuzz-emu: $(EMU_SRCS) $(EMU_HDRS) $(EMU_TDIR)/fuzz.c
	@mkdir -p $(EMU_OUT)/fuzz-corpus
	$(EMU_CLANG) -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $(EMU_OUT)/fuzz $(EMU_TDIR)/fuzz.c $(EMU_SRCS)
	$(EMU_OUT)/fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=256 -print_final_stats=1 \
		$(EMU_OUT)/fuzz-corpus
