// PostgreSQL array literals for statement parameters: libpqxx 6 has no array parameters, so a
// list travels as one text parameter cast in SQL ($1::text[], $2::bigint[]) and is expanded with
// unnest(). Values are quoted/escaped; never build SQL text from them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"

namespace dvc::pg {

// A text[] literal: every element double-quoted, with \ and " escaped ({"a","b\"c"}).
inline std::string TextArray(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// An int[] / bigint[] literal ({1,-2,3}).
template <typename Int>
std::string IntArray(const std::vector<Int>& v) {
  static_assert(std::is_integral_v<Int>, "IntArray takes integers");
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, v[i]);
  }
  return out + "}";
}

// The same with NULL for an absent value ({1,NULL,3}).
template <typename Int>
std::string IntArray(const std::vector<std::optional<Int>>& v) {
  static_assert(std::is_integral_v<Int>, "IntArray takes integers");
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    if (v[i].has_value()) {
      absl::StrAppend(&out, *v[i]);
    } else {
      out += "NULL";
    }
  }
  return out + "}";
}

}  // namespace dvc::pg
