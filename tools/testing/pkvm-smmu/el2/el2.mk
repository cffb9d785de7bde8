# SPDX-License-Identifier: GPL-2.0-only
#
# The real EL2 hypercall bodies in userspace: iommu.c, smmu_v3.c, the three
# pure-logic files and the kernel's own arch/arm64/kvm/hyp/pgtable.c,
# compiled unmodified against el2/shim/ (then shim/), a few real headers of
# the kernel tree (linked one by one into $(O)/el2-inc), and the kernel's
# userspace headers (tools/include), with an SMMUv3 model behind the MMIO
# accessors.
#
#   make el2            build and run the scenario test (ASan+UBSan)
#
# KSRC is a kernel tree with the project's patches applied, KBUILD its build
# output (generated headers, autoconf.h). The project's own files come from
# SRCTREE (this repository).

KSRC		?= /var/cache/pkvm-smmu/linux
KBUILD		?= /var/cache/pkvm-smmu/build

EL2_SRCS	:= $(HYP)/nvhe/iommu.c $(HYP)/nvhe/smmu_v3.c $(HYP)/nvhe/pci_cfg.c $(SRCS) \
		   $(KSRC)/arch/arm64/kvm/hyp/pgtable.c
EL2_HARNESS	:= el2/memory.c el2/smmu_model.c el2/el2.c el2/pvm.c el2/pci.c
EL2_HDRS	:= $(wildcard el2/shim/*/*.h el2/*.h) $(HDRS) \
		   $(HYP)/include/nvhe/iommu.h $(HYP)/include/nvhe/smmu_v3.h \
		   $(HYP)/include/nvhe/pci_cfg.h \
		   $(SRCTREE)/arch/arm64/include/asm/kvm_pkvm_smmu.h

# Real headers of the kernel tree, each named: nothing else of it is seen.
EL2_REAL	:= asm/kvm_pgtable.h=$(KSRC)/arch/arm64/include/asm/kvm_pgtable.h \
		   asm/stage2_pgtable.h=$(KSRC)/arch/arm64/include/asm/stage2_pgtable.h \
		   asm/pgtable-hwdef.h=$(KSRC)/arch/arm64/include/asm/pgtable-hwdef.h \
		   asm/kvm_arm.h=$(KSRC)/arch/arm64/include/asm/kvm_arm.h \
		   asm/esr.h=$(KSRC)/arch/arm64/include/asm/esr.h \
		   asm/sysreg.h=$(KSRC)/arch/arm64/include/asm/sysreg.h \
		   asm/gpr-num.h=$(KSRC)/arch/arm64/include/asm/gpr-num.h \
		   asm/brk-imm.h=$(KSRC)/arch/arm64/include/asm/brk-imm.h \
		   asm/memory.h=$(KSRC)/arch/arm64/include/asm/memory.h \
		   asm/pgtable-prot.h=$(KSRC)/arch/arm64/include/asm/pgtable-prot.h \
		   asm/pgtable-types.h=$(KSRC)/arch/arm64/include/asm/pgtable-types.h \
		   asm-generic/pgtable-nop4d.h=$(KSRC)/include/asm-generic/pgtable-nop4d.h \
		   asm/page-def.h=$(KSRC)/arch/arm64/include/asm/page-def.h \
		   asm/sysreg-defs.h=$(KBUILD)/arch/arm64/include/generated/asm/sysreg-defs.h \
		   asm/cpucap-defs.h=$(KBUILD)/arch/arm64/include/generated/asm/cpucap-defs.h \
		   vdso/page.h=$(KSRC)/include/vdso/page.h \
		   linux/kconfig.h=$(KSRC)/include/linux/kconfig.h \
		   generated/autoconf.h=$(KBUILD)/include/generated/autoconf.h \
		   linux/pci_regs.h=$(KSRC)/include/uapi/linux/pci_regs.h \
		   arm-smmu-v3.h=$(KSRC)/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h

EL2_INC		:= $(O)/el2-inc
EL2_CPPFLAGS	:= -Iel2/shim -I$(EL2_INC) -I$(HYP)/include \
		   -I$(SRCTREE)/arch/arm64/include -I$(KSRC)/tools/include -Ishim \
		   -include $(EL2_INC)/generated/autoconf.h \
		   -D__KVM_NVHE_HYPERVISOR__ -D__DISABLE_EXPORTS
# As the kernel: signed overflow wraps (-fno-strict-overflow), and (1 << 31)
# in kernel headers (GBPA_UPDATE) is not an error.
EL2_CFLAGS	:= $(CFLAGS_COMMON) -fno-strict-overflow -Wno-sign-compare \
		   -Wno-missing-field-initializers -Wno-override-init -Wno-type-limits
EL2_ASAN	:= $(ASAN) -fno-sanitize=shift-base

.PHONY: el2 el2-build el2-tree
el2-tree:
	@test -f $(KSRC)/arch/arm64/kvm/hyp/pgtable.c || \
	  { echo "el2: no kernel tree at KSRC=$(KSRC) (make KSRC=... KBUILD=...)" >&2; exit 1; }
	@test -f $(KBUILD)/include/generated/autoconf.h || \
	  { echo "el2: no kernel build output at KBUILD=$(KBUILD)" >&2; exit 1; }
	@for l in $(EL2_REAL); do \
	  d=$(EL2_INC)/$${l%%=*}; mkdir -p $$(dirname $$d); \
	  test -f $${l#*=} || { echo "el2: missing $${l#*=}" >&2; exit 1; }; \
	  ln -sfn $${l#*=} $$d; done

# One object per file (each basename is unique), so that a mutant of one
# file (mutate.sh, which keeps the objects of the last build) recompiles
# that file only. Files of KSRC only as they exist, so that el2-tree says
# what is missing.
EL2_OBJDIR	:= $(O)/el2-obj
el2_obj		= $(EL2_OBJDIR)/$(basename $(notdir $(1))).o
EL2_OBJS	:= $(foreach s,$(EL2_HARNESS) $(EL2_SRCS),$(call el2_obj,$(s)))

$(EL2_OBJDIR): | $(O)
	mkdir -p $@

define el2_obj_rule
$(call el2_obj,$(1)): $(1) $(EL2_HDRS) el2/el2.mk | $(EL2_OBJDIR) el2-tree
	$$(CC) $$(EL2_CPPFLAGS) $$(EL2_CFLAGS) $$(EL2_ASAN) -c -o $$@ $(1)
endef
$(foreach s,$(EL2_HARNESS) $(wildcard $(EL2_SRCS)),$(eval $(call el2_obj_rule,$(s))))

$(O)/el2: $(EL2_OBJS) | $(O) el2-tree
	$(CC) $(EL2_CFLAGS) $(EL2_ASAN) -o $@ $(EL2_OBJS)

el2-build: $(O)/el2

el2: $(O)/el2
	$(O)/el2

# The same sources raced from several CPUs (threads) under ThreadSanitizer:
# el2/stress.c. Arguments: iterations per CPU, seed, seconds at most.
EL2_STRESS_ARGS	?= 10000 1 20
# The same with the benchmark's locked reads of the invalidation arrays.
EL2_STRESS_LOCKED_ARGS ?= 3000 2 8 locked
# The same with a quarter of the unmaps deferred (a flush queue's).
EL2_STRESS_DEFERRED_ARGS ?= 3000 3 8 deferred
EL2_STRESS_HARNESS := el2/memory.c el2/smmu_model.c el2/stress.c
$(O)/el2-stress-tsan: $(wildcard $(EL2_SRCS)) $(EL2_STRESS_HARNESS) $(EL2_HDRS) \
		      el2/el2.mk | $(O) el2-tree
	$(CC) $(EL2_CPPFLAGS) $(EL2_CFLAGS) -O2 $(TSAN) -o $@ $(EL2_STRESS_HARNESS) \
		$(EL2_SRCS)

# Device assignment to protected VMs raced under ThreadSanitizer:
# el2/pvm_stress.c. Arguments: rounds, seed, seconds at most.
EL2_PVM_STRESS_ARGS ?= 50 1 10
EL2_PVM_STRESS_HARNESS := el2/memory.c el2/smmu_model.c el2/pvm.c el2/pci.c el2/pvm_stress.c
$(O)/el2-pvm-stress-tsan: $(wildcard $(EL2_SRCS)) $(EL2_PVM_STRESS_HARNESS) $(EL2_HDRS) \
			  el2/el2.mk | $(O) el2-tree
	$(CC) $(EL2_CPPFLAGS) $(EL2_CFLAGS) -O2 $(TSAN) -o $@ $(EL2_PVM_STRESS_HARNESS) \
		$(EL2_SRCS)

# The page-state shim (el2/memory.c) against mem_protect.c's transitions.
EL2_SHIM_HARNESS := el2/memory.c el2/smmu_model.c el2/transitions.c
$(O)/el2-transitions: $(wildcard $(EL2_SRCS)) $(EL2_SHIM_HARNESS) $(EL2_HDRS) \
		      el2/el2.mk | $(O) el2-tree
	$(CC) $(EL2_CPPFLAGS) $(EL2_CFLAGS) $(EL2_ASAN) -o $@ $(EL2_SHIM_HARNESS) \
		$(EL2_SRCS)

.PHONY: el2-stress-build el2-shim-build run-el2stress run-el2shim
.PHONY: el2-pvm-stress-build run-el2pvmstress
el2-stress-build: $(O)/el2-stress-tsan
el2-pvm-stress-build: $(O)/el2-pvm-stress-tsan
el2-shim-build: $(O)/el2-transitions
run-el2stress: $(O)/el2-stress-tsan
	$(TSAN_ENV) $(O)/el2-stress-tsan $(EL2_STRESS_ARGS)
run-el2pvmstress: $(O)/el2-pvm-stress-tsan
	$(TSAN_ENV) $(O)/el2-pvm-stress-tsan $(EL2_PVM_STRESS_ARGS)
run-el2shim: $(O)/el2-transitions
	$(O)/el2-transitions
