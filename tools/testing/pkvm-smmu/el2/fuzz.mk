# SPDX-License-Identifier: GPL-2.0-only
#
# libFuzzer target for the real hypercall bodies (el2/fuzz.c), built with
# clang whatever CC is: the same EL2 sources and harness as el2/el2.mk, with
# el2/fuzz.c in place of the scenario test.
#
#   make fuzz-build             $(O)/el2-fuzz (libFuzzer, ASan, UBSan)
#   make fuzz [FUZZ_SECONDS=600]
#                               fuzz $(O)/fuzz-corpus, a working copy seeded
#                               from el2/fuzz-corpus; print executions,
#                               coverage, and iommu.c/smmu_v3.c line coverage
#                               of the corpus; a crash lands in
#                               el2/fuzz-regressions/
#   make fuzz-cover             only that coverage report
#   make run-fuzz               what make check runs: replay the seeds and the
#                               regressions, then FUZZ_CHECK_RUNS executions
#
# Inputs are bytes decoded into host operations (el2/fuzz.c); the seeds come
# from el2/fuzz-seeds.py.

FUZZ_CC		?= clang
FUZZ_PROFDATA	?= llvm-profdata
FUZZ_COV	?= llvm-cov
FUZZ_SECONDS	?= 600
# Executions of the bounded run in make check: about 45 s here (README).
FUZZ_CHECK_RUNS	?= 6000
# Extra flags for the harness (el2/fuzz.c).
FUZZ_CFLAGS	?=
FUZZ_HARNESS	:= el2/memory.c el2/smmu_model.c el2/fuzz.c
FUZZ_SAN_COMMON	:= -fno-sanitize-recover=all -fno-sanitize=shift-base
FUZZ_SAN_HARNESS := -fsanitize=address,undefined $(FUZZ_SAN_COMMON)
FUZZ_SAN_EL2	:= -fsanitize=fuzzer,address,undefined $(FUZZ_SAN_COMMON)
FUZZ_DEPS	:= $(wildcard $(EL2_SRCS)) $(FUZZ_HARNESS) $(EL2_HDRS) el2/el2.mk \
		   el2/fuzz.mk
FUZZ_ENV	:= O=$(O) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_CHECK_RUNS=$(FUZZ_CHECK_RUNS) \
		   FUZZ_PROFDATA=$(FUZZ_PROFDATA) FUZZ_COV=$(FUZZ_COV) \
		   FUZZ_SRCS="$(HYP)/nvhe/iommu.c $(HYP)/nvhe/smmu_v3.c"

.PHONY: fuzz fuzz-build fuzz-cover run-fuzz
# Coverage guidance comes from the EL2 code only: the harness (its oracles
# walk every table after every operation) would spend most of the time in
# libFuzzer's comparison hooks.
FUZZ_OBJS	:= $(patsubst el2/%.c,$(O)/fuzz-obj/%.o,$(FUZZ_HARNESS))

$(O)/fuzz-obj/%.o: el2/%.c $(FUZZ_DEPS) | $(O) el2-tree
	@mkdir -p $(O)/fuzz-obj
	$(FUZZ_CC) $(EL2_CPPFLAGS) $(EL2_CFLAGS) $(FUZZ_SAN_HARNESS) $(FUZZ_CFLAGS) -c -o $@ $<

$(O)/el2-fuzz: $(FUZZ_OBJS) $(FUZZ_DEPS) | $(O) el2-tree
	$(FUZZ_CC) $(EL2_CPPFLAGS) $(EL2_CFLAGS) $(FUZZ_SAN_EL2) -o $@ $(FUZZ_OBJS) \
		$(EL2_SRCS)

# For llvm-cov only: no sanitizer, libFuzzer's main replays the corpus.
$(O)/el2-fuzz-cov: $(FUZZ_DEPS) | $(O) el2-tree
	$(FUZZ_CC) $(EL2_CPPFLAGS) $(EL2_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer \
		-fprofile-instr-generate -fcoverage-mapping -o $@ $(FUZZ_HARNESS) $(EL2_SRCS)

fuzz-build: $(O)/el2-fuzz

fuzz: $(O)/el2-fuzz $(O)/el2-fuzz-cov
	@$(FUZZ_ENV) el2/fuzz.sh run

fuzz-cover: $(O)/el2-fuzz-cov
	@$(FUZZ_ENV) el2/fuzz.sh cover

run-fuzz: $(O)/el2-fuzz
	@$(FUZZ_ENV) el2/fuzz.sh check
