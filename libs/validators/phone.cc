#include "libs/validators/phone.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

absl::Status Malformed(absl::string_view field) {
  return dvc::status::InvalidArgument(
      "PHONE_MALFORMED", field,
      "Số điện thoại di động không hợp lệ (10 chữ số bắt đầu bằng 0, hoặc +84).",
      "The mobile number is not valid (10 digits starting with 0, or +84).");
}

bool ValidPrefix(absl::string_view p) {
  if (p.size() < 2 || p.size() > 5 || p[0] != '0') return false;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

const std::vector<CarrierPrefix>& DefaultCarrierTable() {
  static const auto* table = new std::vector<CarrierPrefix>{
      {"032", "Viettel"},      {"033", "Viettel"},      {"034", "Viettel"},
      {"035", "Viettel"},      {"036", "Viettel"},      {"037", "Viettel"},
      {"038", "Viettel"},      {"039", "Viettel"},      {"086", "Viettel"},
      {"096", "Viettel"},      {"097", "Viettel"},      {"098", "Viettel"},
      {"070", "MobiFone"},     {"076", "MobiFone"},     {"077", "MobiFone"},
      {"078", "MobiFone"},     {"079", "MobiFone"},     {"089", "MobiFone"},
      {"090", "MobiFone"},     {"093", "MobiFone"},     {"081", "VinaPhone"},
      {"082", "VinaPhone"},    {"083", "VinaPhone"},    {"084", "VinaPhone"},
      {"085", "VinaPhone"},    {"088", "VinaPhone"},    {"091", "VinaPhone"},
      {"094", "VinaPhone"},    {"087", "Itel"},         {"052", "Vietnamobile"},
      {"056", "Vietnamobile"}, {"058", "Vietnamobile"}, {"092", "Vietnamobile"},
      {"059", "Gmobile"},      {"0993", "Gmobile"},     {"0994", "Gmobile"},
      {"0995", "Gmobile"},     {"0996", "Gmobile"},     {"0997", "Gmobile"},
      {"055", "Reddi"},
  };
  return *table;
}

absl::StatusOr<std::vector<CarrierPrefix>> ParseCarrierTable(absl::string_view spec) {
  std::vector<CarrierPrefix> out;
  std::set<std::string> seen;
  for (absl::string_view entry : absl::StrSplit(spec, ';', absl::SkipWhitespace())) {
    std::vector<absl::string_view> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (kv.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("carrier table: expected Carrier=prefix,... in '", entry, "'"));
    }
    std::string carrier(absl::StripAsciiWhitespace(kv[0]));
    if (carrier.empty()) return absl::InvalidArgumentError("carrier table: empty carrier name");
    for (absl::string_view p : absl::StrSplit(kv[1], ',', absl::SkipWhitespace())) {
      std::string prefix(absl::StripAsciiWhitespace(p));
      if (!ValidPrefix(prefix)) {
        return absl::InvalidArgumentError(
            absl::StrCat("carrier table: bad prefix '", prefix, "' for ", carrier));
      }
      if (!seen.insert(prefix).second) {
        return absl::InvalidArgumentError(absl::StrCat("carrier table: duplicate prefix ", prefix));
      }
      out.push_back({prefix, carrier});
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("carrier table: no prefixes");
  return out;
}

absl::StatusOr<std::string> NormalizePhone(absl::string_view raw, absl::string_view field) {
  if (raw.size() > 32) return Malformed(field);
  absl::string_view in = absl::StripAsciiWhitespace(raw);
  bool plus = absl::ConsumePrefix(&in, "+");
  std::string digits;
  for (char c : in) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != ' ' && c != '.' && c != '-') {
      return Malformed(field);
    }
  }
  std::string national;  // without the leading 0 or 84
  if (plus) {
    if (digits.rfind("84", 0) != 0) return Malformed(field);
    national = digits.substr(2);
    if (national.size() == 10 && national[0] == '0') national = national.substr(1);  // +84 0…
  } else if (digits.size() == 10 && digits[0] == '0') {
    national = digits.substr(1);
  } else if (digits.size() == 11 && digits.rfind("84", 0) == 0) {
    national = digits.substr(2);
  } else {
    return Malformed(field);
  }
  if (national.size() != 9 || national[0] == '0') return Malformed(field);
  return absl::StrCat("0", national);
}

absl::StatusOr<std::string> ToE164(absl::string_view raw, absl::string_view field) {
  absl::StatusOr<std::string> domestic = NormalizePhone(raw, field);
  if (!domestic.ok()) return domestic.status();
  return absl::StrCat("84", domestic->substr(1));
}

absl::StatusOr<std::string> DetectCarrier(absl::string_view raw,
                                          const std::vector<CarrierPrefix>& table,
                                          absl::string_view field) {
  absl::StatusOr<std::string> domestic = NormalizePhone(raw, field);
  if (!domestic.ok()) return domestic.status();
  const CarrierPrefix* best = nullptr;
  for (const CarrierPrefix& p : table) {
    if (domestic->rfind(p.prefix, 0) == 0 &&
        (best == nullptr || p.prefix.size() > best->prefix.size())) {
      best = &p;
    }
  }
  if (best == nullptr) {
    return dvc::status::InvalidArgument(
        "PHONE_CARRIER_UNKNOWN", field,
        "Đầu số điện thoại không thuộc nhà mạng di động nào được hỗ trợ.",
        "The number's prefix does not belong to a supported mobile carrier.");
  }
  return best->carrier;
}

std::string MaskPhone(absl::string_view phone) {
  if (phone.size() < 7) return std::string(phone.size(), '*');
  return absl::StrCat(phone.substr(0, 3), std::string(phone.size() - 6, '*'),
                      phone.substr(phone.size() - 3));
}

}  // namespace dvc::validators
