#include "libs/validators/password_policy.h"

#include <utf8proc.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/status/errors.h"
#include "libs/validators/phone.h"
#include "libs/validators/unicode.h"

namespace dvc::validators {
namespace internal {
// Generated from data/breached-passwords.txt by the genrule in BUILD.bazel.
extern const unsigned char kBuiltinBreachedPasswords[];
extern const unsigned long kBuiltinBreachedPasswordsSize;
}  // namespace internal

namespace {

constexpr absl::string_view kConfirmationField = "password_confirmation";

std::string Fold(absl::string_view s) {
  std::optional<std::string> folded =
      Utf8Map(s, UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD);
  return folded ? *folded : absl::AsciiStrToLower(s);
}

std::string DigitsOnly(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

}  // namespace

BreachedPasswordList BreachedPasswordList::FromText(absl::string_view text) {
  BreachedPasswordList list;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    list.folded_.insert(Fold(line));
  }
  return list;
}

absl::StatusOr<BreachedPasswordList> BreachedPasswordList::LoadFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string msg = absl::StrCat("cannot open breached-password list ", path, ": ",
                                   std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES) return absl::PermissionDeniedError(msg);
    return absl::InternalError(msg);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat("cannot read ", path));
  return FromText(buf.str());
}

const BreachedPasswordList& BreachedPasswordList::BuiltIn() {
  static const auto* list = new BreachedPasswordList(FromText(absl::string_view(
      reinterpret_cast<const char*>(internal::kBuiltinBreachedPasswords),
      internal::kBuiltinBreachedPasswordsSize)));
  return *list;
}

bool BreachedPasswordList::Contains(absl::string_view password) const {
  return folded_.contains(Fold(password));
}

absl::Status ValidatePassword(absl::string_view password, absl::string_view confirmation,
                              const PasswordContext& context,
                              const BreachedPasswordList& breached,
                              const PasswordPolicy& policy, absl::string_view field) {
  int chars = 0;
  bool lower = false, upper = false, digit = false, special = false;
  bool valid = ForEachCodePoint(password, [&](int32_t cp, absl::string_view) {
    ++chars;
    switch (utf8proc_category(cp)) {
      case UTF8PROC_CATEGORY_LL: lower = true; break;
      case UTF8PROC_CATEGORY_LU:
      case UTF8PROC_CATEGORY_LT: upper = true; break;
      case UTF8PROC_CATEGORY_ND: digit = true; break;
      case UTF8PROC_CATEGORY_LM:
      case UTF8PROC_CATEGORY_LO:
      case UTF8PROC_CATEGORY_MN:
      case UTF8PROC_CATEGORY_MC:
      case UTF8PROC_CATEGORY_ME: break;  // letters without case, combining marks
      default: special = true;
    }
  });
  if (!valid) {
    return dvc::status::InvalidArgument("PASSWORD_INVALID", field,
                                        "Mật khẩu chứa ký tự không hợp lệ.",
                                        "The password contains invalid characters.");
  }
  if (chars < policy.min_chars) {
    return dvc::status::InvalidArgument(
        "PASSWORD_TOO_SHORT", field,
        absl::StrCat("Mật khẩu phải có ít nhất ", policy.min_chars, " ký tự."),
        absl::StrCat("The password must be at least ", policy.min_chars, " characters long."));
  }
  if (chars > policy.max_chars) {
    return dvc::status::InvalidArgument(
        "PASSWORD_TOO_LONG", field,
        absl::StrCat("Mật khẩu không được dài quá ", policy.max_chars, " ký tự."),
        absl::StrCat("The password must be at most ", policy.max_chars, " characters long."));
  }

  std::vector<std::string> missing_vi, missing_en, missing_codes;
  auto need = [&](bool required, bool present, const char* vi, const char* en, const char* code) {
    if (required && !present) {
      missing_vi.push_back(vi);
      missing_en.push_back(en);
      missing_codes.push_back(code);
    }
  };
  need(policy.require_lower, lower, "chữ thường", "a lower-case letter", "lower");
  need(policy.require_upper, upper, "chữ hoa", "an upper-case letter", "upper");
  need(policy.require_digit, digit, "chữ số", "a digit", "digit");
  need(policy.require_special, special, "ký tự đặc biệt", "a special character", "special");
  if (!missing_codes.empty()) {
    absl::Status s = dvc::status::InvalidArgument(
        "PASSWORD_TOO_WEAK", field,
        absl::StrCat("Mật khẩu còn thiếu: ", absl::StrJoin(missing_vi, ", "), "."),
        absl::StrCat("The password must also contain ", absl::StrJoin(missing_en, ", "), "."));
    return dvc::status::WithMetadata(s, "missing", absl::StrJoin(missing_codes, ","));
  }

  std::vector<std::string> needles;
  if (std::string id = DigitsOnly(context.id_number); id.size() >= 6) needles.push_back(id);
  if (!context.phone.empty()) {
    absl::StatusOr<std::string> phone = NormalizePhone(context.phone);
    if (phone.ok()) {
      needles.push_back(phone->substr(1));  // 9 national digits: covers 0…, 84…, +84…
    } else if (std::string d = DigitsOnly(context.phone); d.size() >= 6) {
      needles.push_back(d);
    }
  }
  // Also look through separators: "Abc@0912.345.678" still contains the phone.
  const std::string digits = DigitsOnly(password);
  for (const std::string& n : needles) {
    if (password.find(n) != absl::string_view::npos || digits.find(n) != std::string::npos) {
      return dvc::status::InvalidArgument(
          "PASSWORD_CONTAINS_PERSONAL_DATA", field,
          "Mật khẩu không được chứa số định danh hoặc số điện thoại của bạn.",
          "The password must not contain your ID number or phone number.");
    }
  }

  if (breached.Contains(password)) {
    return dvc::status::InvalidArgument(
        "PASSWORD_BREACHED", field,
        "Mật khẩu này đã bị lộ trong các vụ rò rỉ dữ liệu và dễ bị đoán. Vui lòng chọn mật khẩu "
        "khác.",
        "This password has appeared in data breaches and is easy to guess. Please choose "
        "another one.");
  }

  if (password != confirmation) {
    return dvc::status::InvalidArgument("PASSWORD_MISMATCH", kConfirmationField,
                                        "Mật khẩu xác nhận không khớp.",
                                        "The password confirmation does not match.");
  }
  return absl::OkStatus();
}

}  // namespace dvc::validators
