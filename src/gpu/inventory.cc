#include "gpu/inventory.h"

namespace sf::gpu {

GpuInventory take_inventory() {
  GpuInventory inv;
  if (Result<int> v = cuda_driver_version(); v.ok()) inv.cuda_driver_version = *v;
  Result<std::vector<CudaDevice>> cuda = list_cuda_devices();
  if (!cuda.ok()) {
    inv.cuda_status = cuda.status();
  } else {
    for (CudaDevice& d : *cuda) inv.devices.push_back(GpuDevice{std::move(d), std::nullopt});
  }
  Result<std::vector<NvmlDeviceStatus>> nvml = nvml_snapshot();
  if (!nvml.ok()) {
    inv.nvml_status = nvml.status();
    return inv;
  }
  for (GpuDevice& d : inv.devices) {
    for (const NvmlDeviceStatus& n : *nvml) {
      if (n.pci_domain == d.cuda.pci_domain && n.pci_bus == d.cuda.pci_bus && n.pci_device == d.cuda.pci_device) {
        d.nvml = n;
        break;
      }
    }
  }
  return inv;
}

}  // namespace sf::gpu
