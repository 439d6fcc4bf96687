#include "libs/validators/date.h"

#include "absl/strings/str_format.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

absl::Status Malformed(absl::string_view field) {
  return dvc::status::InvalidArgument(
      "DATE_MALFORMED", field, "Ngày không hợp lệ (định dạng NNNN-TT-NN, ví dụ 1999-05-01).",
      "The date is not valid (format YYYY-MM-DD, e.g. 1999-05-01).");
}

bool Digits(absl::string_view s, int* out) {
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return !s.empty();
}

absl::StatusOr<Date> Build(absl::string_view y, absl::string_view m, absl::string_view d,
                           absl::string_view field) {
  Date date;
  if (!Digits(y, &date.y) || !Digits(m, &date.m) || !Digits(d, &date.d) || !IsValidDate(date)) {
    return Malformed(field);
  }
  return date;
}

}  // namespace

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

bool IsValidDate(const Date& date) {
  return date.y >= 1 && date.y <= 9999 && date.d >= 1 && date.d <= DaysInMonth(date.y, date.m);
}

absl::StatusOr<Date> ParseDate(absl::string_view s, absl::string_view field) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return Malformed(field);
  return Build(s.substr(0, 4), s.substr(5, 2), s.substr(8, 2), field);
}

absl::StatusOr<Date> ParseCompactDate(absl::string_view s, absl::string_view field) {
  if (s.size() != 8) return Malformed(field);
  return Build(s.substr(0, 4), s.substr(4, 2), s.substr(6, 2), field);
}

std::string FormatDate(const Date& date) {
  return absl::StrFormat("%04d-%02d-%02d", date.y, date.m, date.d);
}

absl::Status ValidateBirthDate(const Date& dob, const Date& today, absl::string_view field) {
  if (!IsValidDate(dob)) return Malformed(field);
  if (dob > today) {
    return dvc::status::InvalidArgument("BIRTH_DATE_INVALID", field,
                                        "Ngày sinh không được ở tương lai.",
                                        "The date of birth cannot be in the future.");
  }
  if (dob.y < 1900) {
    return dvc::status::InvalidArgument("BIRTH_DATE_INVALID", field,
                                        "Năm sinh phải từ 1900 trở đi.",
                                        "The year of birth must be 1900 or later.");
  }
  return absl::OkStatus();
}

}  // namespace dvc::validators
