#include "libs/validators/email.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

absl::Status Malformed(absl::string_view field) {
  return dvc::status::InvalidArgument("EMAIL_MALFORMED", field,
                                      "Địa chỉ thư điện tử không hợp lệ.",
                                      "The e-mail address is not valid.");
}

bool LocalChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != absl::string_view::npos;
}

bool ValidLocal(absl::string_view local) {
  if (local.empty() || local.size() > 64) return false;
  if (local.front() == '.' || local.back() == '.' || absl::StrContains(local, "..")) return false;
  for (char c : local) {
    if (c != '.' && !LocalChar(c)) return false;
  }
  return true;
}

bool ValidDomain(absl::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) return false;
  for (absl::string_view l : labels) {
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') return false;
    for (char c : l) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  absl::string_view tld = labels.back();
  if (absl::StartsWithIgnoreCase(tld, "xn--")) return tld.size() > 4;
  if (tld.size() < 2) return false;
  for (char c : tld) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> NormalizeEmail(absl::string_view email, absl::string_view field) {
  if (email.size() > 254) return Malformed(field);
  size_t at = email.rfind('@');
  if (at == absl::string_view::npos) return Malformed(field);
  absl::string_view local = email.substr(0, at);
  absl::string_view domain = email.substr(at + 1);
  if (!ValidLocal(local) || !ValidDomain(domain)) return Malformed(field);
  return absl::StrCat(local, "@", absl::AsciiStrToLower(domain));
}

absl::Status ValidateEmail(absl::string_view email, absl::string_view field) {
  return NormalizeEmail(email, field).status();
}

}  // namespace dvc::validators
