// Password rules for registration and password changes (REG-9).
// Checked in order, first failure wins:
//   PASSWORD_INVALID                 not valid UTF-8
//   PASSWORD_TOO_SHORT / _TOO_LONG   length in Unicode code points (default 8..128)
//   PASSWORD_TOO_WEAK                missing character classes (lower, upper, digit, special =
//                                    anything not a letter or digit); the message names the
//                                    missing ones and metadata "missing" lists them
//                                    ("lower,upper,digit,special")
//   PASSWORD_CONTAINS_PERSONAL_DATA  contains the user's ID number or phone (any form)
//   PASSWORD_BREACHED                in the breached-password list (case-insensitive)
//   PASSWORD_MISMATCH                confirmation differs (field "password_confirmation")
// Messages never echo the password.
#pragma once

#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::validators {

struct PasswordPolicy {
  int min_chars = 8;
  int max_chars = 128;
  bool require_lower = true;
  bool require_upper = true;
  bool require_digit = true;
  bool require_special = true;
};

// A set of known-leaked passwords, compared after Unicode case folding.
class BreachedPasswordList final {
 public:
  BreachedPasswordList() = default;
  // One password per line ('\n' or "\r\n"); empty lines are ignored.
  static BreachedPasswordList FromText(absl::string_view text);
  // NotFound / PermissionDenied / Internal when the file cannot be read.
  static absl::StatusOr<BreachedPasswordList> LoadFromFile(const std::string& path);
  // The list compiled from data/breached-passwords.txt (no file needed at run time).
  static const BreachedPasswordList& BuiltIn();

  bool Contains(absl::string_view password) const;
  size_t size() const { return folded_.size(); }

 private:
  absl::flat_hash_set<std::string> folded_;
};

// Personal data the password must not contain (empty fields are skipped).
struct PasswordContext {
  std::string id_number;  // CCCD / CMND
  std::string phone;      // any accepted phone form
};

absl::Status ValidatePassword(absl::string_view password, absl::string_view confirmation,
                              const PasswordContext& context = {},
                              const BreachedPasswordList& breached = BreachedPasswordList::BuiltIn(),
                              const PasswordPolicy& policy = {},
                              absl::string_view field = "password");

}  // namespace dvc::validators
