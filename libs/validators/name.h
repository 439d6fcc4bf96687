// Personal names (Vietnamese and other Latin-script names).
// NormalizeName: Unicode NFC, invisible "default ignorable" characters removed, any whitespace
// run collapsed to one space, trimmed — the form to store and display.
// NameKey: NFKC + Unicode case folding of the normalised name — the form to compare, so that
// composed and decomposed diacritics ("Nguyễn" typed on different keyboards) and any letter
// case give the same key.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::validators {

// NAME_INVALID for invalid UTF-8.
absl::StatusOr<std::string> NormalizeName(absl::string_view name,
                                          absl::string_view field = "full_name");
// NAME_INVALID for invalid UTF-8.
absl::StatusOr<std::string> NameKey(absl::string_view name, absl::string_view field = "full_name");
// Both valid UTF-8 and equal keys.
bool SameName(absl::string_view a, absl::string_view b);

// Validates the normalised form: NAME_REQUIRED when empty; NAME_INVALID when longer than 100
// characters (code points), or containing anything but Latin letters (incl. Vietnamese), combining
// diacritics, spaces, apostrophes (' ’) and hyphens, or no letter at all.
absl::Status ValidateFullName(absl::string_view name, absl::string_view field = "full_name");

}  // namespace dvc::validators
