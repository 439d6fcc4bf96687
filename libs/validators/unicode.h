// Internal UTF-8 helpers over utf8proc, shared by the validators (not part of the public API).
#pragma once

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace dvc::validators {

// utf8proc_map with UTF8PROC_STABLE added; nullopt for invalid UTF-8.
inline std::optional<std::string> Utf8Map(absl::string_view s, int options) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
  if (n < 0) return std::nullopt;
  std::string result(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return result;
}

// Calls fn(code point, its bytes) for each code point of valid UTF-8 `s`. Returns false (after
// visiting the valid prefix) at the first invalid sequence.
template <typename Fn>
bool ForEachCodePoint(absl::string_view s, Fn fn) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return false;
    fn(static_cast<int32_t>(cp), absl::string_view(reinterpret_cast<const char*>(p),
                                                   static_cast<size_t>(n)));
    p += n;
    left -= n;
  }
  return true;
}

}  // namespace dvc::validators
