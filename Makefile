# SPDX-License-Identifier: GPL-2.0
# pKVM-owned SMMUv3: build, boot and test. See README.md.
#
#   make run      build what is missing, boot the pKVM host with four SMMUs, run the demo
#   make check    run every test; the last line is "N passed, N failed, N skipped"
#   make bench    optional: boot the eight-SMMU bench topology and write docs/benchmark.md
#   make fuzz     optional: fuzz the EL2 hypercall bodies in userspace (FUZZ_SECONDS=600)
#   make check-long  optional: the long boot tests (all of the kernel's
#                 vfio_pci_driver_test, on every edu device), about 50 minutes
#
# Variables: PKVM_CACHE (where the Debian 13 root and all build outputs live,
# default /var/cache/pkvm-smmu), MODE (hvhe or nvhe, for run), MODES (for check),
# SMMU (pkvm, stock, refused or cmdqv, for run), SMMUS (for check), TESTS (comma-separated boot
# tests for run; default all).

PKVM_CACHE ?= /var/cache/pkvm-smmu
MODE ?= hvhe
MODES ?= hvhe nvhe
SMMU ?= pkvm
SMMUS ?= pkvm stock refused cmdqv
TESTS ?= all
export PKVM_CACHE MODES SMMUS

ifeq ($(filter $(MODE),hvhe nvhe),)
$(error MODE=$(MODE) is not a mode: use MODE=hvhe or MODE=nvhe)
endif
ifneq ($(filter-out hvhe nvhe,$(MODES)),)
$(error MODES=$(MODES) names an unknown mode: use hvhe and/or nvhe)
endif
ifeq ($(filter $(SMMU),pkvm stock refused cmdqv),)
$(error SMMU=$(SMMU) is not an SMMU configuration: use SMMU=pkvm, stock, refused or cmdqv)
endif
ifneq ($(filter-out pkvm stock refused cmdqv,$(SMMUS)),)
$(error SMMUS=$(SMMUS) names an unknown SMMU configuration: use pkvm, stock, refused and/or cmdqv)
endif

S := scripts

.PHONY: all setup tree kernel initramfs run check check-long bench fuzz unit clean distclean help
all: initramfs

help:
	@sed -n '2,14s/^# \{0,1\}//p' Makefile

setup:
	@bash $(S)/setup-root.sh

tree: setup
	@bash $(S)/prepare-tree.sh

kernel: tree
	@bash $(S)/build-kernel.sh

initramfs: kernel
	@bash $(S)/build-initramfs.sh

# On a terminal, leave a shell on the console; otherwise run the demo, power off and
# exit non-zero if it failed.
run: initramfs
	@bash $(S)/run-qemu.sh --mode $(MODE) --smmu $(SMMU) --tests $(TESTS) \
		$(shell [ -t 0 ] && echo --interactive)

check:
	@bash $(S)/check.sh

# The boot tests in tests/boot/long, which make check leaves out, with the hypervisor
# owning the SMMUs, in each mode.
check-long:
	@CHECK_UNIT=0 CHECK_TESTS=vfio-driver-selftest-full SMMUS=pkvm BOOT_TIMEOUT=3600 \
		bash $(S)/check.sh

bench:
	@bash $(S)/bench.sh

# The el2 part builds the real hypercall bodies against the kernel tree.
unit: kernel
	@bash -c '. $(S)/common.sh && in_root make -C tools/testing/pkvm-smmu check \
		KSRC="$$KSRC" KBUILD="$$KOUT"'

FUZZ_SECONDS ?= 600
ifneq ($(filter fuzz,$(MAKECMDGOALS)),)
ifeq ($(shell echo '$(FUZZ_SECONDS)' | grep -Exq '[1-9][0-9]{0,6}' && echo ok),)
$(error FUZZ_SECONDS=$(FUZZ_SECONDS) is not a number of seconds (1 to 9999999))
endif
endif
fuzz: kernel
	@bash -c '. $(S)/common.sh && in_root make -C tools/testing/pkvm-smmu fuzz \
		KSRC="$$KSRC" KBUILD="$$KOUT" FUZZ_SECONDS=$(FUZZ_SECONDS)'

# Build outputs only; the Debian root and the unpacked sources stay.
clean:
	rm -rf $(PKVM_CACHE)/build $(PKVM_CACHE)/out

distclean:
	@if grep -q " $(PKVM_CACHE)/" /proc/self/mountinfo; then \
		echo "error: something is still mounted below $(PKVM_CACHE)" >&2; exit 1; fi
	rm -rf $(PKVM_CACHE)
