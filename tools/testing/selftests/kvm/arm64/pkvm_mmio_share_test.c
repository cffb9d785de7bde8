// SPDX-License-Identifier: GPL-2.0-only
/*
 * pkvm_mmio_share_test - which device MMIO a guest may borrow under pKVM.
 *
 * A VMM can put any page it can mmap in a memslot, device MMIO included. With
 * pKVM the hypervisor, not the host, maps it in the guest's stage-2, and lets
 * the guest borrow only MMIO the host still owns:
 *
 *  - host_mmio: a PCI device's BAR, mmapped through sysfs, is reachable by
 *    the guest, which reads the same register value as the VMM;
 *  - hyp_mmio: a page the host gave to the hypervisor (an SMMU's registers),
 *    mmapped through /dev/mem, is refused: the guest's access makes KVM_RUN
 *    fail with EPERM, and the host does not warn.
 *
 * usage: pkvm_mmio_share_test BDF HYP_MMIO_PHYS
 *   BDF: a PCI device bound to no driver whose BAR0 has a non-zero register at
 *   offset 0 (QEMU's edu: its ID register); HYP_MMIO_PHYS: a page the
 *   hypervisor owns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"

#define MMIO_MEMSLOT	1
#define MMIO_GPA	0x50000000UL

static void guest_code(void)
{
	GUEST_SYNC(readl((void *)MMIO_GPA));
	GUEST_DONE();
}

/* A VM whose guest reads the first register of the page at hva. */
static struct kvm_vm *vm_with_mmio(struct kvm_vcpu **vcpu, void *hva)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);

	vm_set_user_memory_region(vm, MMIO_MEMSLOT, 0, MMIO_GPA, getpagesize(), hva);
	virt_map(vm, MMIO_GPA, MMIO_GPA, 1);
	return vm;
}

static void *map_file(const char *path, off_t offset)
{
	int fd = open(path, O_RDWR | O_SYNC);
	void *p;

	TEST_ASSERT(fd >= 0, "open(%s): %s", path, strerror(errno));
	p = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
	TEST_ASSERT(p != MAP_FAILED, "mmap(%s, 0x%lx): %s", path, (long)offset,
		    strerror(errno));
	close(fd);
	return p;
}

static void test_host_mmio(const char *bdf)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	char path[128];
	struct ucall uc;
	u16 cmd;
	u32 *bar, want;
	int fd;

	/* Let the device decode its BAR: no driver did. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDWR);
	TEST_ASSERT(fd >= 0, "open(%s): %s", path, strerror(errno));
	TEST_ASSERT_EQ(pread(fd, &cmd, sizeof(cmd), PCI_COMMAND), sizeof(cmd));
	cmd |= PCI_COMMAND_MEMORY;
	TEST_ASSERT_EQ(pwrite(fd, &cmd, sizeof(cmd), PCI_COMMAND), sizeof(cmd));
	close(fd);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	bar = map_file(path, 0);
	want = readl(bar);
	TEST_ASSERT(want, "%s: the register at BAR0 offset 0 reads 0", bdf);

	vm = vm_with_mmio(&vcpu, bar);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	TEST_ASSERT(uc.args[1] == want, "the guest read 0x%lx, the VMM 0x%x",
		    uc.args[1], want);
	kvm_vm_free(vm);
	munmap(bar, getpagesize());
	ksft_test_result_pass("host_mmio: the guest reads a host-owned BAR (0x%x)\n", want);
}

static void test_hyp_mmio(unsigned long phys)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	void *page;
	int ret;

	/* Mapping it is allowed; the host's own access would abort. */
	page = map_file("/dev/mem", phys);
	vm = vm_with_mmio(&vcpu, page);
	ret = _vcpu_run(vcpu);
	TEST_ASSERT(ret == -1 && errno == EPERM,
		    "KVM_RUN returned %d (errno %d, exit reason %u), not EPERM: the guest reached hypervisor MMIO",
		    ret, errno, vcpu->run->exit_reason);
	kvm_vm_free(vm);
	munmap(page, getpagesize());
	ksft_test_result_pass("hyp_mmio: the hypervisor's MMIO at 0x%lx is refused\n", phys);
}

int main(int argc, char *argv[])
{
	unsigned long phys;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BDF HYP_MMIO_PHYS\n", argv[0]);
		exit(KSFT_FAIL);
	}
	phys = strtoul(argv[2], &end, 0);
	if (*end || !phys || phys % getpagesize()) {
		fprintf(stderr, "%s: '%s' is not a page-aligned physical address\n",
			argv[0], argv[2]);
		exit(KSFT_FAIL);
	}

	ksft_print_header();
	ksft_set_plan(2);
	test_host_mmio(argv[1]);
	test_hyp_mmio(phys);
	ksft_finished();
}
