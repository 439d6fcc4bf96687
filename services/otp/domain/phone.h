// Vietnamese mobile numbers as the OTP service needs them: normalised domestic form for storage
// and display, E.164 (without '+') for the SMS gateway, and the masked form of REG-8.
#pragma once

#include <optional>
#include <string>

namespace dvc::otp {

// "0912345678" from "0912345678", "84912345678", "+84 912 345 678", "091-234-5678", …; nullopt
// when it is not a 10-digit domestic mobile number (0[35789] + 8 digits).
std::optional<std::string> NormalizePhone(const std::string& input);
// "84912345678" from a normalised domestic number.
std::string ToMsisdn(const std::string& domestic);
// "091****678": first 3 and last 3 digits of a normalised domestic number.
std::string MaskPhone(const std::string& domestic);

}  // namespace dvc::otp
