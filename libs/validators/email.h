// Pragmatic e-mail address syntax check (not full RFC 5322): local@domain, at most 254
// characters; local part 1..64 characters of letters, digits and !#$%&'*+/=?^_`{|}~.- with no
// leading, trailing or doubled dot (no quoted local parts); domain of at least two
// dot-separated labels of letters, digits and hyphens (1..63 characters, no leading/trailing
// hyphen), an alphabetic or punycode ("xn--") top-level label, internationalised domains in
// punycode. The domain is lower-cased; the local part is kept as typed.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::validators {

// The address with its domain lower-cased. EMAIL_MALFORMED otherwise.
absl::StatusOr<std::string> NormalizeEmail(absl::string_view email,
                                           absl::string_view field = "email");
absl::Status ValidateEmail(absl::string_view email, absl::string_view field = "email");

}  // namespace dvc::validators
