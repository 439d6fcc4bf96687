#include "libs/validators/cccd.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace dvc::validators {
namespace {

// The 63 provinces and centrally-run cities (codes as printed on CCCD cards).
constexpr int kProvinceCodes[] = {
    1,  2,  4,  6,  8,  10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33,
    34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66,
    67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
};
static_assert(std::size(kProvinceCodes) == 63);

bool AllDigits(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int Num(absl::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

bool IsCccdProvinceCode(int code) {
  return std::binary_search(std::begin(kProvinceCodes), std::end(kProvinceCodes), code);
}

absl::Status ValidateCccd(absl::string_view cccd, absl::string_view field) {
  if (cccd.size() != 12 || !AllDigits(cccd)) {
    return dvc::status::InvalidArgument("CCCD_MALFORMED", field,
                                        "Số CCCD phải gồm đúng 12 chữ số.",
                                        "The CCCD number must be exactly 12 digits.");
  }
  if (!IsCccdProvinceCode(Num(cccd.substr(0, 3)))) {
    return dvc::status::InvalidArgument(
        "CCCD_PROVINCE_INVALID", field,
        "Ba chữ số đầu của số CCCD không phải mã tỉnh, thành phố hợp lệ.",
        "The first three digits of the CCCD number are not a valid province code.");
  }
  if (cccd[3] > '3') {
    return dvc::status::InvalidArgument(
        "CCCD_MALFORMED", field,
        "Chữ số thứ tư của số CCCD (mã thế kỷ và giới tính) không hợp lệ.",
        "The fourth digit of the CCCD number (century and sex code) is not valid.");
  }
  return absl::OkStatus();
}

absl::StatusOr<int> CccdBirthYear(absl::string_view cccd, absl::string_view field) {
  if (absl::Status s = ValidateCccd(cccd, field); !s.ok()) return s;
  int g = cccd[3] - '0';
  return 1900 + 100 * (g / 2) + Num(cccd.substr(4, 2));
}

absl::StatusOr<Gender> CccdGender(absl::string_view cccd, absl::string_view field) {
  if (absl::Status s = ValidateCccd(cccd, field); !s.ok()) return s;
  return (cccd[3] - '0') % 2 == 0 ? Gender::kMale : Gender::kFemale;
}

absl::Status CheckCccdMatchesBirthDate(absl::string_view cccd, const Date& dob,
                                       absl::string_view field) {
  absl::StatusOr<int> year = CccdBirthYear(cccd, field);
  if (!year.ok()) return year.status();
  if (*year != dob.y) {
    return dvc::status::InvalidArgument(
        "CCCD_BIRTH_YEAR_MISMATCH", field,
        "Năm sinh trong số CCCD không khớp với ngày sinh đã khai.",
        "The birth year encoded in the CCCD number does not match the date of birth.");
  }
  return absl::OkStatus();
}

absl::Status ValidateCmnd(absl::string_view cmnd, absl::string_view field) {
  if (cmnd.size() != 9 || !AllDigits(cmnd)) {
    return dvc::status::InvalidArgument("CMND_MALFORMED", field,
                                        "Số CMND phải gồm đúng 9 chữ số.",
                                        "The CMND number must be exactly 9 digits.");
  }
  return absl::OkStatus();
}

absl::StatusOr<IdNumberKind> ClassifyIdNumber(absl::string_view id, absl::string_view field) {
  if (AllDigits(id)) {
    if (id.size() == 12) return IdNumberKind::kCccd;
    if (id.size() == 9) return IdNumberKind::kCmnd;
  }
  return dvc::status::InvalidArgument(
      "ID_NUMBER_MALFORMED", field,
      "Số định danh phải là số CCCD (12 chữ số) hoặc số CMND (9 chữ số).",
      "The ID number must be a CCCD number (12 digits) or a CMND number (9 digits).");
}

}  // namespace dvc::validators
