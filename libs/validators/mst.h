// Tax codes (MST, mã số thuế) and agency unit codes (mã định danh điện tử cơ quan).
// MST: 10 digits, or 10 digits + "-" + a 3-digit branch number 001..999. Digits 3-9 are not all
// zero, and d10 = 10 − (Σ wᵢ·dᵢ mod 11) with weights 31, 29, 23, 19, 17, 13, 7, 5, 3 over d1..d9
// (remainder 10 → check digit 0; remainder 0 → no valid code).
// Unit code (QCVN 102:2016): NNN.NN.NN.XNN, X an upper-case letter, e.g. "000.00.00.G22".
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace dvc::validators {

// MST_MALFORMED (shape, branch 000, digits 3-9 all zero) or MST_CHECKSUM.
absl::Status ValidateMst(absl::string_view mst, absl::string_view field = "tax_code");
// UNIT_CODE_MALFORMED.
absl::Status ValidateUnitCode(absl::string_view code, absl::string_view field = "unit_code");

}  // namespace dvc::validators
