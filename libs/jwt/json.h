// Minimal, safe JSON for tokens and small documents (JWT headers/claims, JWKs, provider replies).
//
// Writer: JsonObjectBuilder emits compact JSON with correctly escaped strings: quotes,
// backslashes and control characters are escaped, valid UTF-8 (e.g. Vietnamese) is kept as is,
// invalid UTF-8 bytes become U+FFFD, and U+2028/U+2029 are escaped so output is also safe inside
// JavaScript. Setting a key twice replaces the earlier value (no duplicate keys are emitted).
//
// Reader: ParseFlatJson() fully validates a JSON object (RFC 8259 grammar, UTF-8, surrogate
// pairs, nesting depth ≤ 64, size ≤ 1 MiB, no duplicate top-level keys) and exposes its
// top-level members: strings, integers, booleans, arrays of strings and, for anything else, the
// raw JSON text. Nested objects are validated but not indexed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::jwt {

// `s` as a JSON string literal, including the surrounding quotes.
std::string JsonQuote(absl::string_view s);

class JsonObjectBuilder final {
 public:
  JsonObjectBuilder& String(absl::string_view key, absl::string_view value);
  JsonObjectBuilder& Int(absl::string_view key, int64_t value);
  JsonObjectBuilder& Bool(absl::string_view key, bool value);
  JsonObjectBuilder& Null(absl::string_view key);
  JsonObjectBuilder& StringArray(absl::string_view key, const std::vector<std::string>& values);
  JsonObjectBuilder& Object(absl::string_view key, const JsonObjectBuilder& value);
  JsonObjectBuilder& ObjectArray(absl::string_view key,
                                 const std::vector<JsonObjectBuilder>& values);
  // Adds already-serialised JSON (e.g. a stored JWK). InvalidArgument, and nothing is added,
  // unless `json` is exactly one valid JSON value.
  absl::Status Raw(absl::string_view key, absl::string_view json);

  std::string Build() const;

 private:
  JsonObjectBuilder& Set(absl::string_view key, std::string encoded);
  std::vector<std::pair<std::string, std::string>> fields_;  // key → encoded value
};

class FlatJson final {
 public:
  enum class Type { kString, kNumber, kBool, kNull, kObject, kArray };
  struct Value {
    Type type;
    std::string text;  // decoded for kString; raw JSON text for every other type
    std::optional<std::vector<std::string>> strings;  // kArray whose elements are all strings
  };

  bool Has(absl::string_view key) const;
  // nullopt when the key is absent or holds another type.
  std::optional<std::string> GetString(absl::string_view key) const;
  // Integers only (no fraction or exponent) within int64 range.
  std::optional<int64_t> GetInt(absl::string_view key) const;
  std::optional<bool> GetBool(absl::string_view key) const;
  std::optional<std::vector<std::string>> GetStringArray(absl::string_view key) const;
  // Raw JSON text of any member (strings re-quoted).
  std::optional<std::string> GetRaw(absl::string_view key) const;
  const std::map<std::string, Value, std::less<>>& fields() const { return fields_; }

 private:
  friend absl::StatusOr<FlatJson> ParseFlatJson(absl::string_view text);
  std::map<std::string, Value, std::less<>> fields_;
};

// InvalidArgument (with a byte offset in the message) for anything that is not a valid JSON
// object within the limits above.
absl::StatusOr<FlatJson> ParseFlatJson(absl::string_view text);

// True when `text` is exactly one valid JSON value (any type) within the same limits.
bool IsValidJson(absl::string_view text);

}  // namespace dvc::jwt
