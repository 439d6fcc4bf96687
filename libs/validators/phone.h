// Vietnamese mobile numbers. Storage form is domestic: '0' + 9 digits ("0912345678"); providers
// get the E.164 digits without '+' ("84912345678"). Accepted input: 0xxxxxxxxx, +84xxxxxxxxx,
// 84xxxxxxxxx (also "+84 0xxx…"), with spaces, dots or dashes as separators.
// Carrier detection uses a prefix table that is data: DefaultCarrierTable() mirrors
// DOMAIN-FACTS.md, and ParseCarrierTable() reads an override from configuration (prefixes move
// between carriers). The longest matching prefix wins (e.g. "0993" over "099").
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::validators {

struct CarrierPrefix {
  std::string prefix;   // domestic form, 3-4 digits starting with '0', e.g. "032", "0993"
  std::string carrier;  // e.g. "Viettel"
};

const std::vector<CarrierPrefix>& DefaultCarrierTable();

// "Viettel=032,033,034;MobiFone=070,076" (spaces around items are ignored).
// InvalidArgument on an empty carrier name, a malformed or duplicate prefix.
absl::StatusOr<std::vector<CarrierPrefix>> ParseCarrierTable(absl::string_view spec);

// Domestic form "0" + 9 digits. PHONE_MALFORMED otherwise.
absl::StatusOr<std::string> NormalizePhone(absl::string_view raw,
                                           absl::string_view field = "phone");
// "84" + 9 digits (normalises first). PHONE_MALFORMED as above.
absl::StatusOr<std::string> ToE164(absl::string_view raw, absl::string_view field = "phone");
// Carrier name for the number (normalises first). PHONE_MALFORMED, or PHONE_CARRIER_UNKNOWN
// when no prefix in `table` matches.
absl::StatusOr<std::string> DetectCarrier(
    absl::string_view raw, const std::vector<CarrierPrefix>& table = DefaultCarrierTable(),
    absl::string_view field = "phone");

// Keeps the first 3 and last 3 characters, masks the rest with '*' ("0820000088" →
// "082****088"); strings shorter than 7 characters are fully masked. Use for logs and UI.
std::string MaskPhone(absl::string_view phone);

}  // namespace dvc::validators
