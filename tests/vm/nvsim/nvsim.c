// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvsim — a SIMULATED NVIDIA vGPU host driver for hostdev's VM test suite.
 *
 * THIS IS NOT NVIDIA'S DRIVER. It was written from NVIDIA's published vGPU documentation
 * and from field reports (collected in docs/nvidia.md and tests/vm/README.md), not from
 * NVIDIA's code, and it runs on QEMU's igb NIC (SR-IOV PF 8086:10c9, VFs 8086:10ca) in the
 * test VM, never on a GPU. It binds those functions as a PCI driver named "nvidia",
 * makes them read as NVIDIA GPUs (vendor 0x10de, class 0x030200) and offers vGPUs through
 * the kernel's real mdev, vfio and SR-IOV code, in one of three generations
 * (module parameter mode=):
 *
 *   pf    T4-like (10de:1eb8, 16 GB): an mdev parent on the PF with the T4 type table
 *         (nvidia-222 … nvidia-321, "GRID T4-2Q", description with max_instance=N,
 *         device_api vfio-pci). The PF still advertises sriov_totalvfs (the "T4 trap"),
 *         but has no sriov_configure: writing sriov_numvfs fails (ENOENT).
 *   vf    A40-like (10de:2235, 48 GB): sriov_configure creates VFs on sriov_numvfs
 *         writes (disabling them fails with EBUSY while a vGPU exists or a VF is open);
 *         each VF is an mdev parent with the A40 Q types, available_instances 0/1.
 *   vfio  L40S-like (10de:26b9, 48 GB), vendor-specific VFIO: no mdev; each VF gets
 *         nvidia/{creatable_vgpu_types,current_vgpu_type,placement_id,vgpu_params} and is
 *         registered as a vfio-pci-core device (vfio-dev/vfioN, /dev/vfio/<group>).
 *         current_vgpu_type <- a creatable ID assigns it (EINVAL if not creatable now,
 *         EBUSY if the VF already has a type), <- 0 frees it (EBUSY while the VF is open).
 *
 * Equal-size rule (all modes; docs/nvidia.md "Which vGPU types can share a GPU"): the first
 * vGPU fixes the GPU's framebuffer size; types of that size stay creatable whatever their
 * series (A2-4C, A2-4Q and A2-4A share a GPU), types of other sizes then read
 * available_instances 0 (are no longer listed as creatable) and creating one fails (mdev:
 * ENOSPC; vfio: EINVAL); the GPU holds at most the type's max_instance vGPUs. Mode vf: a
 * VF's figure depends on its sibling VFs' vGPUs (one count per GPU).
 * Every mdev instance is a vfio device (vfio_register_emulated_iommu_dev, as the kernel's
 * samples/vfio-mdev/mtty.c) bound to the mdev driver "nvidia-vgpu-vfio" with
 * nvidia/{vgpu_params,placement_id}; it can be opened (group + VFIO_GROUP_GET_DEVICE_FD)
 * and removing it while open blocks in vfio_unregister_group_dev() as for the real driver.
 *
 * The field's timing (module parameters, all 0 by default = no delay, no failure; the three
 * delays can also be changed at run time in /sys/module/nvsim/parameters/):
 *
 *   enable_delay_ms    sriov_configure(n > 0) sleeps this long (msleep_interruptible)
 *                      before it enables the VFs: NVIDIA's enablement takes seconds per GPU.
 *                      The PF's device lock is held meanwhile (as the kernel holds it around
 *                      every sriov_configure), so a second write to the same PF waits; other
 *                      GPUs are not held up.
 *   ready_delay_ms     the VFs exist (bound to "nvidia") as soon as sriov_numvfs returns,
 *                      but their vGPU interface appears only this long later, from delayed
 *                      work (the real driver probes VFs asynchronously): mode vf, the VF's
 *                      mdev parent registration (mdev_supported_types, /sys/class/mdev_bus);
 *                      mode vfio, the VF's nvidia/ directory (creatable_vgpu_types,
 *                      current_vgpu_type, ...). Removing a VF (sriov_numvfs=0, rmmod)
 *                      cancels pending work, or waits for a running one, before it tears
 *                      down what the work registered.
 *   create_delay_ms    each vGPU creation sleeps this long (msleep_interruptible) before it
 *                      takes its place on the GPU: an mdev create (modes pf, vf: in the mdev
 *                      probe, so the create write returns only after it) or a non-zero
 *                      current_vgpu_type write (mode vfio). Frees are not delayed. No lock
 *                      of the GPU is held while sleeping: creations on other VFs and GPUs
 *                      run in parallel.
 *   enable_fail_ms,    during the first enable_fail_ms after the module was loaded,
 *   enable_fail_errno  sriov_configure(n > 0) fails at once with -enable_fail_errno (default
 *                      11, EAGAIN: "Resource temporarily unavailable") and enables nothing:
 *                      the driver is still starting (the boot race of the field). Disabling
 *                      (n = 0) is never refused for this. Read-only after load.
 *
 * Two GPUs: every igb PF in the VM becomes one GPU of the same mode (tests/vm case header
 * "# vm-nvsim-gpus: 2" gives the VM a second igb on its own root port).
 *
 * NOT MODELLED: MIG-backed types and GPU instances, heterogeneous (mixed-size) mode,
 * vgpu_params/placement_id semantics (stored, not interpreted), the vGPU manager daemons
 * (nvidia-vgpud/nvidia-vgpu-mgr) and GSP/firmware timing beyond the parameters above (by
 * default types appear at probe, not seconds later), the wedged-VF hazard after a killed QEMU, vfio-pci refusing the VFs
 * (-EINVAL), NVIDIA's exact errno values (undocumented: the ones above are ours), and any
 * device behaviour behind the vfio regions (an mdev has none; a VF is the igb VF).
 * Where NVIDIA's driver disagrees with this file, NVIDIA's driver is right: fix this
 * simulation and the documentation it cites.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/pci.h>
#include <linux/mdev.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>
#include <linux/version.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/workqueue.h>

static char *mode = "pf";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "generation to simulate: pf (T4-like), vf (A40-like), vfio (L40S-like)");

static unsigned int enable_delay_ms;
module_param(enable_delay_ms, uint, 0644);
MODULE_PARM_DESC(enable_delay_ms, "sriov_configure sleeps this long before enabling VFs (ms, default 0)");

static unsigned int ready_delay_ms;
module_param(ready_delay_ms, uint, 0644);
MODULE_PARM_DESC(ready_delay_ms, "a new VF's vGPU interface (mdev parent / nvidia/ directory) appears this long after the VF (ms, default 0)");

static unsigned int create_delay_ms;
module_param(create_delay_ms, uint, 0644);
MODULE_PARM_DESC(create_delay_ms, "each vGPU creation (mdev create, current_vgpu_type write) sleeps this long (ms, default 0)");

static unsigned int enable_fail_ms;
module_param(enable_fail_ms, uint, 0444);
MODULE_PARM_DESC(enable_fail_ms, "enabling VFs fails during this long after module load (ms, default 0)");

static unsigned int enable_fail_errno = EAGAIN;
module_param(enable_fail_errno, uint, 0444);
MODULE_PARM_DESC(enable_fail_errno, "the errno of that failure (default 11, EAGAIN)");

static unsigned long loaded_at;	/* jiffies at module load */

/* sleep for a delay parameter (0: not at all); a signal ends the sleep early */
static void nvsim_delay(const unsigned int *param)
{
	unsigned int ms = READ_ONCE(*param);

	if (ms)
		msleep_interruptible(ms);
}

enum nvsim_mode { M_PF, M_VF, M_VFIO };
static enum nvsim_mode sim_mode;

struct vtype {
	unsigned int id;
	const char *name;
	unsigned int heads, frl, fb_mb;
	const char *res;
	unsigned int max;
};

/* T4 (fixtures/t4-*), 16384 MB */
static const struct vtype t4_types[] = {
	{ 222, "GRID T4-1B", 4, 45, 1024, "5120x2880", 16 },
	{ 223, "GRID T4-2B", 4, 45, 2048, "5120x2880", 8 },
	{ 224, "GRID T4-2B4", 4, 45, 2048, "5120x2880", 8 },
	{ 225, "GRID T4-1A", 1, 60, 1024, "1280x1024", 16 },
	{ 226, "GRID T4-2A", 1, 60, 2048, "1280x1024", 8 },
	{ 227, "GRID T4-4A", 1, 60, 4096, "1280x1024", 4 },
	{ 228, "GRID T4-8A", 1, 60, 8192, "1280x1024", 2 },
	{ 229, "GRID T4-16A", 1, 60, 16384, "1280x1024", 1 },
	{ 230, "GRID T4-1Q", 4, 60, 1024, "5120x2880", 16 },
	{ 231, "GRID T4-2Q", 4, 60, 2048, "7680x4320", 8 },
	{ 232, "GRID T4-4Q", 4, 60, 4096, "7680x4320", 4 },
	{ 233, "GRID T4-8Q", 4, 60, 8192, "7680x4320", 2 },
	{ 234, "GRID T4-16Q", 4, 60, 16384, "7680x4320", 1 },
	{ 319, "GRID T4-4C", 1, 60, 4096, "4096x2160", 4 },
	{ 320, "GRID T4-8C", 1, 60, 8192, "4096x2160", 2 },
	{ 321, "GRID T4-16C", 1, 60, 16384, "4096x2160", 1 },
};

/* A40 (fixtures/a40-*), 49152 MB */
static const struct vtype a40_types[] = {
	{ 555, "NVIDIA A40-1Q", 4, 60, 1024, "7680x4320", 32 },
	{ 556, "NVIDIA A40-2Q", 4, 60, 2048, "7680x4320", 24 },
	{ 557, "NVIDIA A40-4Q", 4, 60, 4096, "7680x4320", 12 },
	{ 558, "NVIDIA A40-8Q", 4, 60, 8192, "7680x4320", 6 },
	{ 559, "NVIDIA A40-12Q", 4, 60, 12288, "7680x4320", 4 },
	{ 560, "NVIDIA A40-16Q", 4, 60, 16384, "7680x4320", 3 },
	{ 561, "NVIDIA A40-24Q", 4, 60, 24576, "7680x4320", 2 },
	{ 562, "NVIDIA A40-48Q", 4, 60, 49152, "7680x4320", 1 },
};

/* L40S (fixtures/l40s-*), 49152 MB; at most 32 vGPUs per GPU */
static const struct vtype l40s_types[] = {
	{ 1145, "NVIDIA L40S-1B", 0, 0, 1024, NULL, 32 },
	{ 1146, "NVIDIA L40S-2B", 0, 0, 2048, NULL, 24 },
	{ 1147, "NVIDIA L40S-1Q", 0, 0, 1024, NULL, 32 },
	{ 1148, "NVIDIA L40S-2Q", 0, 0, 2048, NULL, 24 },
	{ 1149, "NVIDIA L40S-3Q", 0, 0, 3072, NULL, 16 },
	{ 1150, "NVIDIA L40S-4Q", 0, 0, 4096, NULL, 12 },
	{ 1151, "NVIDIA L40S-6Q", 0, 0, 6144, NULL, 8 },
	{ 1152, "NVIDIA L40S-8Q", 0, 0, 8192, NULL, 6 },
	{ 1153, "NVIDIA L40S-12Q", 0, 0, 12288, NULL, 4 },
	{ 1154, "NVIDIA L40S-16Q", 0, 0, 16384, NULL, 3 },
	{ 1155, "NVIDIA L40S-24Q", 0, 0, 24576, NULL, 2 },
	{ 1156, "NVIDIA L40S-48Q", 0, 0, 49152, NULL, 1 },
	{ 1157, "NVIDIA L40S-8C", 0, 0, 8192, NULL, 6 },
	{ 1158, "NVIDIA L40S-12C", 0, 0, 12288, NULL, 4 },
};

static const struct vtype *types;
static unsigned int nr_types;
static u16 sim_device;

/* one physical GPU = one PF */
struct nvsim_gpu {
	struct pci_dev *pdev;
	struct mutex lock;
	unsigned int fb_mb;	/* size of the GPU's vGPUs; 0: none yet */
	unsigned int used;	/* vGPUs on the GPU */
	atomic_t open;		/* open vfio devices (mdevs, vendor-VFIO VFs) */
	u16 orig_vendor, orig_device, orig_subvendor;
	u32 orig_class;
	/* mode pf: the PF is the mdev parent */
	struct nvsim_parent *mp;
};

struct nvsim_mtype {
	struct mdev_type type;
	const struct vtype *vt;
	struct nvsim_parent *p;
	char sysfs_name[16];
};

/* an mdev parent: the PF (mode pf) or one VF (mode vf) */
struct nvsim_parent {
	struct mdev_parent parent;
	struct nvsim_gpu *gpu;
	struct pci_dev *pdev;
	unsigned int vgpus;	/* vGPUs on this parent */
	struct nvsim_mtype *mtypes;
	struct mdev_type **ptrs;
};

/* mode vf: one VF; its mdev parent is registered at probe, or ready_delay_ms later */
struct nvsim_vf {
	struct delayed_work ready;
	struct nvsim_gpu *gpu;
	struct pci_dev *pdev;
	struct nvsim_parent *p;	/* NULL until registered */
	u16 orig_device;
	u32 orig_class;
};

/* vgpu_params of a vGPU (mdev) or of a vendor-VFIO VF */
#define NVSIM_PARAMS_LEN 256

/* an mdev instance (a vGPU) */
struct nvsim_vgpu {
	struct vfio_device vdev;
	struct nvsim_mtype *mt;
	char params[NVSIM_PARAMS_LEN];
};

/* mode vfio: a VF registered as a vfio-pci-core device (must start with core) */
struct nvsim_vfio_vf {
	struct vfio_pci_core_device core;
	struct nvsim_gpu *gpu;
	unsigned int cur;	/* current_vgpu_type, 0: none */
	bool open;
	char params[NVSIM_PARAMS_LEN];
	u16 orig_device;
	u32 orig_class;
	struct delayed_work ready;	/* creates nvidia/ (ready_delay_ms) */
	bool has_group;			/* nvidia/ exists */
};

static struct pci_driver nvsim_pci_driver;

/* ---------------------------------------------------------------- equal-size rule */
/* caller holds gpu->lock */
static bool gpu_can_take(struct nvsim_gpu *gpu, const struct vtype *vt)
{
	if (gpu->fb_mb && gpu->fb_mb != vt->fb_mb)
		return false;
	return gpu->used < vt->max;
}

static void gpu_take(struct nvsim_gpu *gpu, const struct vtype *vt)
{
	gpu->fb_mb = vt->fb_mb;
	gpu->used++;
}

static void gpu_give_back(struct nvsim_gpu *gpu)
{
	if (gpu->used && --gpu->used == 0)
		gpu->fb_mb = 0;
}

static const struct vtype *find_type(unsigned int id)
{
	unsigned int i;

	for (i = 0; i < nr_types; i++)
		if (types[i].id == id)
			return &types[i];
	return NULL;
}

static void become_nvidia(struct pci_dev *pdev)
{
	pdev->vendor = PCI_VENDOR_ID_NVIDIA;
	pdev->device = sim_device;
	pdev->subsystem_vendor = PCI_VENDOR_ID_NVIDIA;
	pdev->class = 0x030200;	/* 3D controller */
}

/* a VF gets back the device ID and class it had before become_nvidia() */
static void vf_restore_ids(struct pci_dev *pdev, u16 orig_device, u32 orig_class)
{
	pdev->device = orig_device;
	pdev->class = orig_class;
}

/* the PF gets back its IDs and is disabled (probe failure, remove) */
static void gpu_restore_pf(struct nvsim_gpu *gpu)
{
	struct pci_dev *pdev = gpu->pdev;

	pdev->vendor = gpu->orig_vendor;
	pdev->device = gpu->orig_device;
	pdev->subsystem_vendor = gpu->orig_subvendor;
	pdev->class = gpu->orig_class;
	pci_disable_device(pdev);
}

/* a vGPU of parent p is gone (or was never made) */
static void parent_give_back(struct nvsim_parent *p)
{
	mutex_lock(&p->gpu->lock);
	p->vgpus--;
	gpu_give_back(p->gpu);
	mutex_unlock(&p->gpu->lock);
}

/* mode vfio: the VF behind a device's drvdata (a vfio-pci-core device), or NULL */
static struct nvsim_vfio_vf *vfio_vf_of(struct device *dev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(dev);

	return core ? container_of(core, struct nvsim_vfio_vf, core) : NULL;
}

/* the iommufd callbacks of a vfio_device_ops (kind: emulated or physical), 6.2 and later */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define NVSIM_IOMMUFD_OPS(kind)						\
	.bind_iommufd = vfio_iommufd_##kind##_bind,			\
	.unbind_iommufd = vfio_iommufd_##kind##_unbind,			\
	.attach_ioas = vfio_iommufd_##kind##_attach_ioas,		\
	.detach_ioas = vfio_iommufd_##kind##_detach_ioas,
#else
#define NVSIM_IOMMUFD_OPS(kind)
#endif

/* ---------------------------------------------------------------- mdev instances */
static int nvsim_vgpu_open(struct vfio_device *vdev)
{
	struct nvsim_vgpu *vg = container_of(vdev, struct nvsim_vgpu, vdev);

	atomic_inc(&vg->mt->p->gpu->open);
	return 0;
}

static void nvsim_vgpu_close(struct vfio_device *vdev)
{
	struct nvsim_vgpu *vg = container_of(vdev, struct nvsim_vgpu, vdev);

	atomic_dec(&vg->mt->p->gpu->open);
}

static void nvsim_vgpu_release(struct vfio_device *vdev)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	vfio_free_device(vdev);		/* 6.1: the driver frees; 6.2+: the core does */
#endif
}

static long nvsim_vgpu_ioctl(struct vfio_device *vdev, unsigned int cmd,
			     unsigned long arg)
{
	if (cmd == VFIO_DEVICE_GET_INFO) {
		struct vfio_device_info info;
		unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);

		if (copy_from_user(&info, (void __user *)arg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PCI;
		info.num_regions = 0;
		info.num_irqs = 0;
		return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
	}
	if (cmd == VFIO_DEVICE_RESET)
		return 0;
	return -ENOTTY;
}

static const struct vfio_device_ops nvsim_vgpu_ops = {
	.name = "nvidia-vgpu",
	.release = nvsim_vgpu_release,
	.open_device = nvsim_vgpu_open,
	.close_device = nvsim_vgpu_close,
	.ioctl = nvsim_vgpu_ioctl,
	NVSIM_IOMMUFD_OPS(emulated)
};

static int nvsim_mdev_probe(struct mdev_device *mdev)
{
	struct nvsim_mtype *mt = container_of(mdev->type, struct nvsim_mtype, type);
	struct nvsim_parent *p = mt->p;
	struct nvsim_gpu *gpu = p->gpu;
	struct nvsim_vgpu *vg;
	int ret;

	nvsim_delay(&create_delay_ms);	/* the field's creation time (create_delay_ms) */
	mutex_lock(&gpu->lock);
	/* a VF holds one vGPU; the GPU follows the equal-size rule and max_instance */
	if ((sim_mode == M_VF && p->vgpus) || !gpu_can_take(gpu, mt->vt)) {
		mutex_unlock(&gpu->lock);
		return -ENOSPC;
	}
	gpu_take(gpu, mt->vt);
	p->vgpus++;
	mutex_unlock(&gpu->lock);

	vg = vfio_alloc_device(nvsim_vgpu, vdev, &mdev->dev, &nvsim_vgpu_ops);
	if (IS_ERR(vg)) {
		ret = PTR_ERR(vg);
		goto undo;
	}
	vg->mt = mt;
	ret = vfio_register_emulated_iommu_dev(&vg->vdev);
	if (ret) {
		vfio_put_device(&vg->vdev);
		goto undo;
	}
	dev_set_drvdata(&mdev->dev, vg);
	return 0;
undo:
	parent_give_back(p);
	return ret;
}

static void nvsim_mdev_remove(struct mdev_device *mdev)
{
	struct nvsim_vgpu *vg = dev_get_drvdata(&mdev->dev);
	struct nvsim_parent *p = vg->mt->p;

	/* blocks while a process holds the device open, as for the real driver */
	vfio_unregister_group_dev(&vg->vdev);
	vfio_put_device(&vg->vdev);
	parent_give_back(p);
}

static unsigned int nvsim_get_available(struct mdev_type *mtype)
{
	struct nvsim_mtype *mt = container_of(mtype, struct nvsim_mtype, type);
	struct nvsim_gpu *gpu = mt->p->gpu;
	unsigned int n = 0;

	mutex_lock(&gpu->lock);
	if (sim_mode == M_VF)
		n = (!mt->p->vgpus && gpu_can_take(gpu, mt->vt)) ? 1 : 0;
	else if (gpu_can_take(gpu, mt->vt))
		n = mt->vt->max - gpu->used;
	mutex_unlock(&gpu->lock);
	return n;
}

static ssize_t nvsim_show_description(struct mdev_type *mtype, char *buf)
{
	const struct vtype *vt = container_of(mtype, struct nvsim_mtype, type)->vt;

	return sysfs_emit(buf, "num_heads=%u, frl_config=%u, framebuffer=%uM, max_resolution=%s, max_instance=%u\n",
			  vt->heads, vt->frl, vt->fb_mb, vt->res, vt->max);
}

/*
 * nvidia/vgpu_params of an mdev instance (modes pf, vf) or of a VF (mode vfio: no mdev
 * driver is registered, so the attribute's device is always a VF); NULL: none yet
 */
static char *vgpu_params_of(struct device *dev)
{
	struct nvsim_vgpu *vg;
	struct nvsim_vfio_vf *vf;

	if (sim_mode == M_VFIO) {
		vf = vfio_vf_of(dev);
		return vf ? vf->params : NULL;
	}
	vg = dev_get_drvdata(dev);
	return vg ? vg->params : NULL;
}

static ssize_t vgpu_params_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	const char *params = vgpu_params_of(dev);

	return sysfs_emit(buf, "%s\n", params ? params : "");
}

static ssize_t vgpu_params_store(struct device *dev, struct device_attribute *attr,
				 const char *buf, size_t count)
{
	char *params = vgpu_params_of(dev);

	if (!params)
		return -ENODEV;
	if (count >= NVSIM_PARAMS_LEN)
		return -EINVAL;
	strscpy(params, buf, NVSIM_PARAMS_LEN);
	strim(params);
	return count;
}

static ssize_t placement_id_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "Not Applicable\n");
}

static DEVICE_ATTR_RW(vgpu_params);
static DEVICE_ATTR_RO(placement_id);
static struct attribute *nvsim_mdev_attrs[] = {
	&dev_attr_vgpu_params.attr,
	&dev_attr_placement_id.attr,
	NULL,
};
static const struct attribute_group nvsim_mdev_group = {
	.name = "nvidia",
	.attrs = nvsim_mdev_attrs,
};
static const struct attribute_group *nvsim_mdev_groups[] = { &nvsim_mdev_group, NULL };

static struct mdev_driver nvsim_mdev_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = "nvidia-vgpu-vfio",
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = nvsim_mdev_groups,
	},
	.probe = nvsim_mdev_probe,
	.remove = nvsim_mdev_remove,
	.get_available = nvsim_get_available,
	.show_description = nvsim_show_description,
};

static void parent_free(struct nvsim_parent *p)
{
	kfree(p->ptrs);
	kfree(p->mtypes);
	kfree(p);
}

static struct nvsim_parent *parent_register(struct nvsim_gpu *gpu, struct pci_dev *pdev)
{
	struct nvsim_parent *p;
	unsigned int i;
	int ret;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	p->mtypes = kcalloc(nr_types, sizeof(*p->mtypes), GFP_KERNEL);
	p->ptrs = kcalloc(nr_types, sizeof(*p->ptrs), GFP_KERNEL);
	if (!p->mtypes || !p->ptrs) {
		ret = -ENOMEM;
		goto err;
	}
	p->gpu = gpu;
	p->pdev = pdev;
	for (i = 0; i < nr_types; i++) {
		struct nvsim_mtype *mt = &p->mtypes[i];

		mt->vt = &types[i];
		mt->p = p;
		/* the mdev core names the directory "<driver>-<sysfs_name>": nvidia-222 */
		snprintf(mt->sysfs_name, sizeof(mt->sysfs_name), "%u", types[i].id);
		mt->type.sysfs_name = mt->sysfs_name;
		mt->type.pretty_name = types[i].name;
		p->ptrs[i] = &mt->type;
	}
	ret = mdev_register_parent(&p->parent, &pdev->dev, &nvsim_mdev_driver, p->ptrs, nr_types);
	if (ret)
		goto err;
	return p;
err:
	parent_free(p);
	return ERR_PTR(ret);
}

static void parent_unregister(struct nvsim_parent *p)
{
	mdev_unregister_parent(&p->parent);
	parent_free(p);
}

/* ---------------------------------------------------------------- mode vfio: VFs */
/* a VM opens or closes the VF: current_vgpu_type cannot be freed while it is open */
static void vfio_vf_set_open(struct nvsim_vfio_vf *vf, bool open)
{
	mutex_lock(&vf->gpu->lock);
	vf->open = open;
	mutex_unlock(&vf->gpu->lock);
	if (open)
		atomic_inc(&vf->gpu->open);
	else
		atomic_dec(&vf->gpu->open);
}

static int nvsim_vfio_open(struct vfio_device *vdev)
{
	struct nvsim_vfio_vf *vf = container_of(vdev, struct nvsim_vfio_vf, core.vdev);
	int ret;

	ret = vfio_pci_core_enable(&vf->core);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(&vf->core);
	vfio_vf_set_open(vf, true);
	return 0;
}

static void nvsim_vfio_close(struct vfio_device *vdev)
{
	struct nvsim_vfio_vf *vf = container_of(vdev, struct nvsim_vfio_vf, core.vdev);

	vfio_pci_core_close_device(vdev);
	vfio_vf_set_open(vf, false);
}

static const struct vfio_device_ops nvsim_vfio_ops = {
	.name = "nvidia-vfio-vf",
	.init = vfio_pci_core_init_dev,
	.release = vfio_pci_core_release_dev,
	.open_device = nvsim_vfio_open,
	.close_device = nvsim_vfio_close,
	.ioctl = vfio_pci_core_ioctl,
	.device_feature = vfio_pci_core_ioctl_feature,
	.read = vfio_pci_core_read,
	.write = vfio_pci_core_write,
	.mmap = vfio_pci_core_mmap,
	.request = vfio_pci_core_request,
	.match = vfio_pci_core_match,
	NVSIM_IOMMUFD_OPS(physical)
};

static ssize_t creatable_vgpu_types_show(struct device *dev, struct device_attribute *attr,
					 char *buf)
{
	struct nvsim_vfio_vf *vf = vfio_vf_of(dev);
	ssize_t n;
	unsigned int i;

	/* header, then "ID    : name" for every type this VF can take now */
	n = sysfs_emit(buf, "%-5s : %s\n", "ID", "vGPU Name");
	if (!vf)
		return n;
	mutex_lock(&vf->gpu->lock);
	for (i = 0; i < nr_types && !vf->cur; i++)
		if (gpu_can_take(vf->gpu, &types[i]))
			n += sysfs_emit_at(buf, n, "%-5u : %s\n", types[i].id, types[i].name);
	mutex_unlock(&vf->gpu->lock);
	return n;
}

static ssize_t current_vgpu_type_show(struct device *dev, struct device_attribute *attr,
				      char *buf)
{
	struct nvsim_vfio_vf *vf = vfio_vf_of(dev);

	return sysfs_emit(buf, "%u\n", vf ? vf->cur : 0);
}

static ssize_t current_vgpu_type_store(struct device *dev, struct device_attribute *attr,
				       const char *buf, size_t count)
{
	struct nvsim_vfio_vf *vf = vfio_vf_of(dev);
	const struct vtype *vt;
	unsigned int id;
	int ret;

	if (!vf)
		return -ENODEV;
	ret = kstrtouint(buf, 0, &id);
	if (ret)
		return -EINVAL;
	if (id)
		nvsim_delay(&create_delay_ms);	/* creation time; freeing is quick */
	mutex_lock(&vf->gpu->lock);
	if (id == 0) {
		if (vf->cur && vf->open) {
			ret = -EBUSY;		/* a VM uses the vGPU */
		} else if (vf->cur) {
			vf->cur = 0;
			gpu_give_back(vf->gpu);
		}
	} else if (vf->cur) {
		ret = -EBUSY;			/* free it (0) first */
	} else {
		vt = find_type(id);
		if (!vt || !gpu_can_take(vf->gpu, vt)) {
			ret = -EINVAL;		/* not in creatable_vgpu_types */
		} else {
			gpu_take(vf->gpu, vt);
			vf->cur = id;
		}
	}
	mutex_unlock(&vf->gpu->lock);
	return ret ? ret : count;
}

static DEVICE_ATTR_RO(creatable_vgpu_types);
static DEVICE_ATTR_RW(current_vgpu_type);
static struct attribute *nvsim_vf_attrs[] = {
	&dev_attr_creatable_vgpu_types.attr,
	&dev_attr_current_vgpu_type.attr,
	&dev_attr_placement_id.attr,
	&dev_attr_vgpu_params.attr,
	NULL,
};
static const struct attribute_group nvsim_vf_group = {
	.name = "nvidia",
	.attrs = nvsim_vf_attrs,
};

/* ---------------------------------------------------------------- PCI driver */
static struct nvsim_gpu *gpu_of_vf(struct pci_dev *vf)
{
	struct pci_dev *pf = pci_physfn(vf);

	if (pf == vf || pf->driver != &nvsim_pci_driver)
		return NULL;
	return pci_get_drvdata(pf);
}

/* mode vf, delayed work: the VF becomes an mdev parent (ready_delay_ms after its probe) */
static void nvsim_vf_ready(struct work_struct *work)
{
	struct nvsim_vf *vf = container_of(to_delayed_work(work), struct nvsim_vf, ready);
	struct nvsim_parent *p = parent_register(vf->gpu, vf->pdev);

	if (IS_ERR(p)) {
		pci_warn(vf->pdev, "nvsim: mdev parent registration failed (%ld)\n", PTR_ERR(p));
		return;
	}
	vf->p = p;
}

/* mode vfio, delayed work: the VF's nvidia/ directory appears (ready_delay_ms after probe) */
static void nvsim_vfio_vf_ready(struct work_struct *work)
{
	struct nvsim_vfio_vf *vf = container_of(to_delayed_work(work), struct nvsim_vfio_vf,
						ready);
	struct device *dev = &vf->core.pdev->dev;
	int ret = sysfs_create_group(&dev->kobj, &nvsim_vf_group);

	if (ret) {
		dev_warn(dev, "nvsim: nvidia/ not created (%d)\n", ret);
		return;
	}
	vf->has_group = true;
}

static int nvsim_probe_vf(struct pci_dev *pdev)
{
	struct nvsim_gpu *gpu = gpu_of_vf(pdev);
	u16 odev = pdev->device;
	u32 oclass = pdev->class;
	int ret;

	if (!gpu)
		return -ENODEV;
	if (sim_mode == M_VF) {
		struct nvsim_vf *vf;
		struct nvsim_parent *p;
		unsigned int ms = READ_ONCE(ready_delay_ms);

		vf = kzalloc(sizeof(*vf), GFP_KERNEL);
		if (!vf)
			return -ENOMEM;
		become_nvidia(pdev);
		vf->gpu = gpu;
		vf->pdev = pdev;
		vf->orig_device = odev;
		vf->orig_class = oclass;
		INIT_DELAYED_WORK(&vf->ready, nvsim_vf_ready);
		if (ms) {
			/* the VF is bound now; its types appear later (the driver probes async) */
			pci_set_drvdata(pdev, vf);
			schedule_delayed_work(&vf->ready, msecs_to_jiffies(ms));
			return 0;
		}
		p = parent_register(gpu, pdev);
		if (IS_ERR(p)) {
			vf_restore_ids(pdev, odev, oclass);
			kfree(vf);
			return PTR_ERR(p);
		}
		vf->p = p;
		pci_set_drvdata(pdev, vf);
		return 0;
	}
	if (sim_mode == M_VFIO) {
		struct nvsim_vfio_vf *vf;
		unsigned int ms = READ_ONCE(ready_delay_ms);

		become_nvidia(pdev);
		vf = vfio_alloc_device(nvsim_vfio_vf, core.vdev, &pdev->dev, &nvsim_vfio_ops);
		if (IS_ERR(vf)) {
			ret = PTR_ERR(vf);
			goto restore;
		}
		vf->gpu = gpu;
		vf->orig_device = odev;
		vf->orig_class = oclass;
		INIT_DELAYED_WORK(&vf->ready, nvsim_vfio_vf_ready);
		dev_set_drvdata(&pdev->dev, &vf->core);
		ret = vfio_pci_core_register_device(&vf->core);
		if (ret) {
			vfio_put_device(&vf->core.vdev);
			goto restore;
		}
		if (ms) {
			/* vfio-dev exists now; nvidia/ appears later (the driver probes async) */
			schedule_delayed_work(&vf->ready, msecs_to_jiffies(ms));
			return 0;
		}
		ret = sysfs_create_group(&pdev->dev.kobj, &nvsim_vf_group);
		if (ret) {
			vfio_pci_core_unregister_device(&vf->core);
			vfio_put_device(&vf->core.vdev);
			goto restore;
		}
		vf->has_group = true;
		return 0;
restore:
		dev_set_drvdata(&pdev->dev, NULL);
		vf_restore_ids(pdev, odev, oclass);
		return ret;
	}
	return -ENODEV;		/* mode pf: the T4 has no VFs in use */
}

static void nvsim_remove_vf(struct pci_dev *pdev)
{
	if (sim_mode == M_VF) {
		struct nvsim_vf *vf = pci_get_drvdata(pdev);

		/* a pending registration is cancelled, a running one finishes first */
		cancel_delayed_work_sync(&vf->ready);
		if (vf->p)
			parent_unregister(vf->p);
		vf_restore_ids(pdev, vf->orig_device, vf->orig_class);
		pci_set_drvdata(pdev, NULL);
		kfree(vf);
	} else if (sim_mode == M_VFIO) {
		struct nvsim_vfio_vf *vf = vfio_vf_of(&pdev->dev);
		u16 odev = vf->orig_device;
		u32 oclass = vf->orig_class;

		cancel_delayed_work_sync(&vf->ready);
		if (vf->has_group)
			sysfs_remove_group(&pdev->dev.kobj, &nvsim_vf_group);
		mutex_lock(&vf->gpu->lock);
		if (vf->cur)
			gpu_give_back(vf->gpu);
		mutex_unlock(&vf->gpu->lock);
		/* blocks while the VF is open, as vfio does for every driver */
		vfio_pci_core_unregister_device(&vf->core);
		vfio_put_device(&vf->core.vdev);
		vf_restore_ids(pdev, odev, oclass);
	}
}

static int nvsim_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct nvsim_gpu *gpu;
	int ret;

	if (pdev->is_virtfn)
		return nvsim_probe_vf(pdev);

	gpu = kzalloc(sizeof(*gpu), GFP_KERNEL);
	if (!gpu)
		return -ENOMEM;
	mutex_init(&gpu->lock);
	atomic_set(&gpu->open, 0);
	gpu->pdev = pdev;
	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	gpu->orig_vendor = pdev->vendor;
	gpu->orig_device = pdev->device;
	gpu->orig_subvendor = pdev->subsystem_vendor;
	gpu->orig_class = pdev->class;
	become_nvidia(pdev);
	pci_set_drvdata(pdev, gpu);
	if (sim_mode == M_PF) {
		struct nvsim_parent *p = parent_register(gpu, pdev);

		if (IS_ERR(p)) {
			ret = PTR_ERR(p);
			goto err_restore;
		}
		gpu->mp = p;
	}
	pci_info(pdev, "nvsim: simulated NVIDIA GPU 10de:%04x, mode=%s (%u vGPU types)\n",
		 sim_device, mode, nr_types);
	return 0;
err_restore:
	gpu_restore_pf(gpu);
err_free:
	kfree(gpu);
	return ret;
}

static void nvsim_remove(struct pci_dev *pdev)
{
	struct nvsim_gpu *gpu;

	if (pdev->is_virtfn) {
		nvsim_remove_vf(pdev);
		return;
	}
	gpu = pci_get_drvdata(pdev);
	if (gpu->mp)
		parent_unregister(gpu->mp);
	if (sim_mode != M_PF)
		pci_disable_sriov(pdev);
	gpu_restore_pf(gpu);
	kfree(gpu);
}

/* modes vf, vfio: what sriov-manage -e/-d ends up doing */
static int nvsim_sriov_configure(struct pci_dev *pdev, int nr_virtfn)
{
	struct nvsim_gpu *gpu = pci_get_drvdata(pdev);
	unsigned int err;
	int ret;

	if (nr_virtfn == 0) {
		mutex_lock(&gpu->lock);
		if (gpu->used || atomic_read(&gpu->open)) {
			mutex_unlock(&gpu->lock);
			return -EBUSY;	/* vGPUs exist, or a VF is in use */
		}
		mutex_unlock(&gpu->lock);
		pci_disable_sriov(pdev);
		return 0;
	}
	/* enable_fail_ms: the driver is still starting after load; nothing is enabled */
	if (enable_fail_ms && time_before(jiffies, loaded_at + msecs_to_jiffies(enable_fail_ms))) {
		err = enable_fail_errno && enable_fail_errno < MAX_ERRNO ? enable_fail_errno : EAGAIN;
		pci_info(pdev, "nvsim: still starting (enable_fail_ms=%u): enabling %d VFs fails (-%u)\n",
			 enable_fail_ms, nr_virtfn, err);
		return -(int)err;
	}
	nvsim_delay(&enable_delay_ms);	/* enablement takes seconds per GPU */
	ret = pci_enable_sriov(pdev, nr_virtfn);
	return ret ? ret : nr_virtfn;
}

static const struct pci_device_id nvsim_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_INTEL, 0x10c9) },	/* igb PF (QEMU) */
	{ PCI_DEVICE(PCI_VENDOR_ID_INTEL, 0x10ca) },	/* igb VF */
	{ PCI_DEVICE(PCI_VENDOR_ID_NVIDIA, 0x10ca) },	/* igb VF of a PF that reads 10de */
	{ PCI_DEVICE(PCI_VENDOR_ID_NVIDIA, 0x1eb8) },	/* after probe: T4 */
	{ PCI_DEVICE(PCI_VENDOR_ID_NVIDIA, 0x2235) },	/* A40 */
	{ PCI_DEVICE(PCI_VENDOR_ID_NVIDIA, 0x26b9) },	/* L40S */
	{ 0, }
};
/* no MODULE_DEVICE_TABLE: never autoloaded in place of igb */

static struct pci_driver nvsim_pci_driver = {
	.name = "nvidia",
	.id_table = nvsim_ids,
	.probe = nvsim_probe,
	.remove = nvsim_remove,
};

static int __init nvsim_init(void)
{
	int ret;

	loaded_at = jiffies;
	if (!strcmp(mode, "pf")) {
		sim_mode = M_PF;
		types = t4_types;
		nr_types = ARRAY_SIZE(t4_types);
		sim_device = 0x1eb8;
	} else if (!strcmp(mode, "vf")) {
		sim_mode = M_VF;
		types = a40_types;
		nr_types = ARRAY_SIZE(a40_types);
		sim_device = 0x2235;
	} else if (!strcmp(mode, "vfio")) {
		sim_mode = M_VFIO;
		types = l40s_types;
		nr_types = ARRAY_SIZE(l40s_types);
		sim_device = 0x26b9;
	} else {
		pr_err("nvsim: mode=%s: expected pf, vf or vfio\n", mode);
		return -EINVAL;
	}
	if (sim_mode != M_PF)
		nvsim_pci_driver.sriov_configure = nvsim_sriov_configure;
	/* as vfio-pci: the VFs' groups stay viable for vfio while bound to this driver */
	if (sim_mode == M_VFIO)
		nvsim_pci_driver.driver_managed_dma = true;
	if (sim_mode != M_VFIO) {
		ret = mdev_register_driver(&nvsim_mdev_driver);
		if (ret)
			return ret;
	}
	ret = pci_register_driver(&nvsim_pci_driver);
	if (ret && sim_mode != M_VFIO)
		mdev_unregister_driver(&nvsim_mdev_driver);
	return ret;
}

static void __exit nvsim_exit(void)
{
	pci_unregister_driver(&nvsim_pci_driver);
	if (sim_mode != M_VFIO)
		mdev_unregister_driver(&nvsim_mdev_driver);
}

module_init(nvsim_init);
module_exit(nvsim_exit);

MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("SIMULATED NVIDIA vGPU host driver on QEMU igb functions (hostdev VM tests only)");
