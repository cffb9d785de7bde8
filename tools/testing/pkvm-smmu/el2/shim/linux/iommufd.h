/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __PKVM_EL2_SHIM_LINUX_iommufd_H__
#define __PKVM_EL2_SHIM_LINUX_iommufd_H__
#endif
