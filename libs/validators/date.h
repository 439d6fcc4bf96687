// Calendar dates without time zones (dates of birth, issue dates), parsed strictly with real
// calendar rules (month lengths, Gregorian leap years). "Today" is always passed in by the
// caller (from an injected clock), never read here.
#pragma once

#include <compare>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dvc::validators {

struct Date {
  int y = 0;
  int m = 0;
  int d = 0;
  auto operator<=>(const Date&) const = default;
};

bool IsLeapYear(int y);
int DaysInMonth(int y, int m);  // 0 for an invalid month
// Year 1..9999, month 1..12, day within the month.
bool IsValidDate(const Date& date);

// "YYYY-MM-DD" exactly (zero-padded). DATE_MALFORMED otherwise or for an impossible date.
absl::StatusOr<Date> ParseDate(absl::string_view s, absl::string_view field = "date_of_birth");
// "YYYYMMDD" (e.g. the SSO claim NgayThangNamSinh). DATE_MALFORMED as above.
absl::StatusOr<Date> ParseCompactDate(absl::string_view s,
                                      absl::string_view field = "date_of_birth");
// "YYYY-MM-DD".
std::string FormatDate(const Date& date);

// DATE_MALFORMED for an impossible date; BIRTH_DATE_INVALID when after `today` or before 1900.
absl::Status ValidateBirthDate(const Date& dob, const Date& today,
                               absl::string_view field = "date_of_birth");

}  // namespace dvc::validators
