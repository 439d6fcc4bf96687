#include "libs/jwt/json.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace dvc::jwt {
namespace {

constexpr size_t kMaxInput = 1 << 20;
constexpr int kMaxDepth = 64;

// Decodes the UTF-8 sequence at s[i]. Returns its length, or 0 if it is invalid (overlong,
// surrogate, above U+10FFFF, truncated or a stray continuation byte).
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : t_(text) {}

  absl::Status Fail() const {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON at byte ", pos_, ": ", error_));
  }

  // The whole input must be one value (an object when `top` is set).
  bool ParseDocument(std::map<std::string, FlatJson::Value, std::less<>>* top) {
    if (t_.size() > kMaxInput) return Error("input too large");
    SkipWs();
    if (top != nullptr) {
      if (Peek() != '{') return Error("expected an object");
      if (!ParseObject(1, top)) return false;
    } else if (!ParseValue(0, nullptr)) {
      return false;
    }
    SkipWs();
    if (pos_ != t_.size()) return Error("trailing characters");
    return true;
  }

 private:
  bool Error(const char* what) {
    error_ = what;
    return false;
  }
  char Peek() const { return pos_ < t_.size() ? t_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= t_.size(); }
  void SkipWs() {
    while (!AtEnd() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' ||
                        t_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool ParseValue(int depth, FlatJson::Value* out) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    if (AtEnd()) return Error("unexpected end of input");
    size_t start = pos_;
    char c = t_[pos_];
    FlatJson::Type type;
    std::string decoded;
    std::vector<std::string> strings;
    bool all_strings = true;
    if (c == '"') {
      type = FlatJson::Type::kString;
      if (!ParseString(&decoded)) return false;
    } else if (c == '{') {
      type = FlatJson::Type::kObject;
      if (!ParseObject(depth + 1, nullptr)) return false;
    } else if (c == '[') {
      type = FlatJson::Type::kArray;
      if (!ParseArray(depth + 1, out != nullptr ? &strings : nullptr, &all_strings)) return false;
    } else if (c == 't' || c == 'f') {
      type = FlatJson::Type::kBool;
      if (!Literal(c == 't' ? "true" : "false")) return false;
    } else if (c == 'n') {
      type = FlatJson::Type::kNull;
      if (!Literal("null")) return false;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      type = FlatJson::Type::kNumber;
      if (!ParseNumber()) return false;
    } else {
      return Error("unexpected character");
    }
    if (out != nullptr) {
      out->type = type;
      if (type == FlatJson::Type::kString) {
        out->text = std::move(decoded);
      } else {
        out->text = std::string(t_.substr(start, pos_ - start));
      }
      if (type == FlatJson::Type::kArray && all_strings) out->strings = std::move(strings);
    }
    return true;
  }

  bool Literal(absl::string_view word) {
    if (t_.substr(pos_, word.size()) != word) return Error("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool ParseNumber() {
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (Peek() >= '1' && Peek() <= '9') {
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    } else {
      return Error("invalid number");
    }
    if (Peek() == '.') {
      ++pos_;
      if (!(Peek() >= '0' && Peek() <= '9')) return Error("invalid number fraction");
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!(Peek() >= '0' && Peek() <= '9')) return Error("invalid number exponent");
      while (Peek() >= '0' && Peek() <= '9') ++pos_;
    }
    return true;
  }

  bool Hex4(uint32_t* v) {
    if (pos_ + 4 > t_.size()) return Error("truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = t_[pos_++];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        return Error("invalid \\u escape");
      }
      *v = (*v << 4) | static_cast<uint32_t>(d);
    }
    return true;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      if (AtEnd()) return Error("unterminated string");
      unsigned char c = static_cast<unsigned char>(t_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Error("control character in string");
      if (c == '\\') {
        ++pos_;
        if (AtEnd()) return Error("unterminated escape");
        char e = t_[pos_++];
        switch (e) {
          case '"': out->push_back('"'); break;
          case '\\': out->push_back('\\'); break;
          case '/': out->push_back('/'); break;
          case 'b': out->push_back('\b'); break;
          case 'f': out->push_back('\f'); break;
          case 'n': out->push_back('\n'); break;
          case 'r': out->push_back('\r'); break;
          case 't': out->push_back('\t'); break;
          case 'u': {
            uint32_t cp;
            if (!Hex4(&cp)) return false;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return Error("lone low surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t lo;
              if (t_.substr(pos_, 2) != "\\u") return Error("lone high surrogate");
              pos_ += 2;
              if (!Hex4(&lo)) return false;
              if (lo < 0xDC00 || lo > 0xDFFF) return Error("invalid surrogate pair");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            AppendUtf8(cp, out);
            break;
          }
          default:
            return Error("invalid escape");
        }
        continue;
      }
      uint32_t cp;
      size_t len = DecodeUtf8(t_, pos_, &cp);
      if (len == 0) return Error("invalid UTF-8");
      out->append(t_.data() + pos_, len);
      pos_ += len;
    }
  }

  bool ParseArray(int depth, std::vector<std::string>* strings, bool* all_strings) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    ++pos_;  // '['
    SkipWs();
    if (Peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWs();
      FlatJson::Value v;
      if (!ParseValue(depth, strings != nullptr ? &v : nullptr)) return false;
      if (strings != nullptr) {
        if (v.type == FlatJson::Type::kString) {
          strings->push_back(std::move(v.text));
        } else {
          *all_strings = false;
        }
      }
      SkipWs();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      return Error("expected ',' or ']'");
    }
  }

  bool ParseObject(int depth, std::map<std::string, FlatJson::Value, std::less<>>* top) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    ++pos_;  // '{'
    SkipWs();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipWs();
      if (Peek() != '"') return Error("expected a string key");
      std::string key;
      if (!ParseString(&key)) return false;
      SkipWs();
      if (Peek() != ':') return Error("expected ':'");
      ++pos_;
      SkipWs();
      FlatJson::Value v;
      if (!ParseValue(depth, top != nullptr ? &v : nullptr)) return false;
      if (top != nullptr && !top->emplace(std::move(key), std::move(v)).second) {
        return Error("duplicate key");
      }
      SkipWs();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      return Error("expected ',' or '}'");
    }
  }

  absl::string_view t_;
  size_t pos_ = 0;
  const char* error_ = "";
};

}  // namespace

std::string JsonQuote(absl::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          if (c < 0x20 || c == 0x7F) {
            out.append("\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len = DecodeUtf8(s, i, &cp);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");  // U+FFFD for each invalid byte
      ++i;
    } else if (cp == 0x2028 || cp == 0x2029) {
      out.append(cp == 0x2028 ? "\\u2028" : "\\u2029");
      i += len;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
  out.push_back('"');
  return out;
}

JsonObjectBuilder& JsonObjectBuilder::Set(absl::string_view key, std::string encoded) {
  for (auto& [k, v] : fields_) {
    if (k == key) {
      v = std::move(encoded);
      return *this;
    }
  }
  fields_.emplace_back(std::string(key), std::move(encoded));
  return *this;
}

JsonObjectBuilder& JsonObjectBuilder::String(absl::string_view key, absl::string_view value) {
  return Set(key, JsonQuote(value));
}
JsonObjectBuilder& JsonObjectBuilder::Int(absl::string_view key, int64_t value) {
  return Set(key, absl::StrCat(value));
}
JsonObjectBuilder& JsonObjectBuilder::Bool(absl::string_view key, bool value) {
  return Set(key, value ? "true" : "false");
}
JsonObjectBuilder& JsonObjectBuilder::Null(absl::string_view key) { return Set(key, "null"); }

JsonObjectBuilder& JsonObjectBuilder::StringArray(absl::string_view key,
                                                  const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += JsonQuote(values[i]);
  }
  out.push_back(']');
  return Set(key, std::move(out));
}

JsonObjectBuilder& JsonObjectBuilder::Object(absl::string_view key,
                                             const JsonObjectBuilder& value) {
  return Set(key, value.Build());
}

JsonObjectBuilder& JsonObjectBuilder::ObjectArray(absl::string_view key,
                                                  const std::vector<JsonObjectBuilder>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += values[i].Build();
  }
  out.push_back(']');
  return Set(key, std::move(out));
}

absl::Status JsonObjectBuilder::Raw(absl::string_view key, absl::string_view json) {
  if (!IsValidJson(json)) return absl::InvalidArgumentError("raw value is not valid JSON");
  Set(key, std::string(json));
  return absl::OkStatus();
}

std::string JsonObjectBuilder::Build() const {
  std::string out = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i > 0) out.push_back(',');
    absl::StrAppend(&out, JsonQuote(fields_[i].first), ":", fields_[i].second);
  }
  out.push_back('}');
  return out;
}

bool FlatJson::Has(absl::string_view key) const { return fields_.find(key) != fields_.end(); }

std::optional<std::string> FlatJson::GetString(absl::string_view key) const {
  auto it = fields_.find(key);
  if (it == fields_.end() || it->second.type != Type::kString) return std::nullopt;
  return it->second.text;
}

std::optional<int64_t> FlatJson::GetInt(absl::string_view key) const {
  auto it = fields_.find(key);
  if (it == fields_.end() || it->second.type != Type::kNumber) return std::nullopt;
  const std::string& t = it->second.text;
  if (t.find_first_of(".eE") != std::string::npos) return std::nullopt;
  int64_t v;
  if (!absl::SimpleAtoi(t, &v)) return std::nullopt;
  return v;
}

std::optional<bool> FlatJson::GetBool(absl::string_view key) const {
  auto it = fields_.find(key);
  if (it == fields_.end() || it->second.type != Type::kBool) return std::nullopt;
  return it->second.text == "true";
}

std::optional<std::vector<std::string>> FlatJson::GetStringArray(absl::string_view key) const {
  auto it = fields_.find(key);
  if (it == fields_.end() || it->second.type != Type::kArray) return std::nullopt;
  return it->second.strings;
}

std::optional<std::string> FlatJson::GetRaw(absl::string_view key) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) return std::nullopt;
  if (it->second.type == Type::kString) return JsonQuote(it->second.text);
  return it->second.text;
}

absl::StatusOr<FlatJson> ParseFlatJson(absl::string_view text) {
  FlatJson out;
  Parser p(text);
  if (!p.ParseDocument(&out.fields_)) return p.Fail();
  return out;
}

bool IsValidJson(absl::string_view text) {
  Parser p(text);
  return p.ParseDocument(nullptr);
}

}  // namespace dvc::jwt
