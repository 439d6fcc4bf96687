#include "services/otp/domain/phone.h"

namespace dvc::otp {

std::optional<std::string> NormalizePhone(const std::string& input) {
  std::string digits;
  bool plus = false;
  for (size_t i = 0; i < input.size(); ++i) {
    char ch = input[i];
    if (ch >= '0' && ch <= '9') {
      digits.push_back(ch);
    } else if (ch == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (ch == ' ' || ch == '-' || ch == '.' || ch == '(' || ch == ')') {
      continue;
    } else {
      return std::nullopt;
    }
    if (digits.size() > 15) return std::nullopt;
  }
  std::string domestic;
  if (digits.size() == 11 && digits.compare(0, 2, "84") == 0) {
    domestic = "0" + digits.substr(2);
  } else if (!plus && digits.size() == 10 && digits[0] == '0') {
    domestic = digits;
  } else {
    return std::nullopt;
  }
  char p = domestic[1];
  if (p != '3' && p != '5' && p != '7' && p != '8' && p != '9') return std::nullopt;
  return domestic;
}

std::string ToMsisdn(const std::string& domestic) { return "84" + domestic.substr(1); }

std::string MaskPhone(const std::string& domestic) {
  if (domestic.size() < 7) return std::string(domestic.size(), '*');
  return domestic.substr(0, 3) + std::string(domestic.size() - 6, '*') +
         domestic.substr(domestic.size() - 3);
}

}  // namespace dvc::otp
