// Autocast state across LibTorch versions (2.4 replaced the per-device functions by ones taking a device type):
// whether autocast is on for a device and at which dtype. The Trainer's AutocastGuard sets it; models read it where
// they compute something by hand that autocast would otherwise have cast (the fused LM head + loss).
#pragma once

#include <optional>

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace tcpp::models {

bool autocast_enabled(c10::DeviceType device);
void set_autocast_enabled(c10::DeviceType device, bool enabled);
c10::ScalarType autocast_dtype(c10::DeviceType device);
void set_autocast_dtype(c10::DeviceType device, c10::ScalarType dtype);

/// The autocast dtype when autocast is on for `device`, else nothing.
std::optional<c10::ScalarType> active_autocast_dtype(c10::DeviceType device);

}  // namespace tcpp::models
