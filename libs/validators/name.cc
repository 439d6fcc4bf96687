#include "libs/validators/name.h"

#include <utf8proc.h>

#include <cstdlib>

#include "libs/status/errors.h"
#include "libs/validators/unicode.h"

namespace dvc::validators {
namespace {

constexpr size_t kMaxNameChars = 100;

absl::Status InvalidEncoding(absl::string_view field) {
  return dvc::status::InvalidArgument("NAME_INVALID", field,
                                      "Họ và tên chứa ký tự không hợp lệ.",
                                      "The full name contains invalid characters.");
}

bool IsSpace(int32_t cp) {
  return cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
         utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

// Collapses whitespace runs to one ' ' and trims. Input is valid UTF-8.
std::string CollapseSpaces(const std::string& s) {
  std::string out;
  bool pending_space = false;
  ForEachCodePoint(s, [&](int32_t cp, absl::string_view bytes) {
    if (IsSpace(cp)) {
      pending_space = !out.empty();
      return;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.append(bytes.data(), bytes.size());
  });
  return out;
}

bool IsLatinLetter(int32_t cp) {
  utf8proc_category_t cat = utf8proc_category(cp);
  bool letter = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
                cat == UTF8PROC_CATEGORY_LT;
  bool latin = (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
               (cp >= 0x00C0 && cp <= 0x024F) || (cp >= 0x1E00 && cp <= 0x1EFF);
  return letter && latin;
}

}  // namespace

absl::StatusOr<std::string> NormalizeName(absl::string_view name, absl::string_view field) {
  std::optional<std::string> nfc = Utf8Map(name, UTF8PROC_COMPOSE | UTF8PROC_IGNORE);
  if (!nfc) return InvalidEncoding(field);
  return CollapseSpaces(*nfc);
}

absl::StatusOr<std::string> NameKey(absl::string_view name, absl::string_view field) {
  absl::StatusOr<std::string> normalized = NormalizeName(name, field);
  if (!normalized.ok()) return normalized.status();
  std::optional<std::string> key =
      Utf8Map(*normalized, UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                               UTF8PROC_IGNORE);
  if (!key) return InvalidEncoding(field);
  // Compatibility mapping can turn e.g. U+00A0 into a space: collapse again.
  return CollapseSpaces(*key);
}

bool SameName(absl::string_view a, absl::string_view b) {
  absl::StatusOr<std::string> ka = NameKey(a), kb = NameKey(b);
  return ka.ok() && kb.ok() && *ka == *kb;
}

absl::Status ValidateFullName(absl::string_view name, absl::string_view field) {
  absl::StatusOr<std::string> normalized = NormalizeName(name, field);
  if (!normalized.ok()) return normalized.status();
  if (normalized->empty()) {
    return dvc::status::InvalidArgument("NAME_REQUIRED", field, "Vui lòng nhập họ và tên.",
                                        "Please enter the full name.");
  }
  size_t chars = 0;
  bool has_letter = false, bad = false;
  ForEachCodePoint(*normalized, [&](int32_t cp, absl::string_view) {
    ++chars;
    if (IsLatinLetter(cp)) {
      has_letter = true;
    } else if (!(cp == ' ' || cp == '\'' || cp == 0x2019 || cp == '-' ||
                 (cp >= 0x0300 && cp <= 0x036F))) {
      bad = true;
    }
  });
  if (chars > kMaxNameChars) {
    return dvc::status::InvalidArgument("NAME_INVALID", field,
                                        "Họ và tên không được dài quá 100 ký tự.",
                                        "The full name must be at most 100 characters.");
  }
  if (bad || !has_letter) {
    return dvc::status::InvalidArgument(
        "NAME_INVALID", field,
        "Họ và tên chỉ được gồm chữ cái (có dấu tiếng Việt), khoảng trắng, dấu nháy đơn và "
        "dấu gạch ngang.",
        "The full name may contain only letters (including Vietnamese), spaces, apostrophes "
        "and hyphens.");
  }
  return absl::OkStatus();
}

}  // namespace dvc::validators
