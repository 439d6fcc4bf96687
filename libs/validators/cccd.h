// Vietnamese personal ID numbers.
// CCCD (căn cước công dân / số định danh cá nhân): 12 digits PPP G YY NNNNNN. PPP is the province
// of birth registration (one of the 63 official codes 001..096), G encodes century and sex
// (birth year = 1900 + 100·⌊G/2⌋ + YY; even G male, odd G female), no check digit.
// CMND (old ID card): 9 digits. Inputs are taken as is: callers trim user input first.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/validators/date.h"

namespace dvc::validators {

enum class Gender { kMale, kFemale };
enum class IdNumberKind { kCccd, kCmnd };

// True for the 63 province codes in use (001 Hà Nội … 096 Cà Mau).
bool IsCccdProvinceCode(int code);

// CCCD_MALFORMED (not 12 digits, or a century digit G outside 0..3, i.e. born outside
// 1900..2099), CCCD_PROVINCE_INVALID (PPP is not a province code).
absl::Status ValidateCccd(absl::string_view cccd, absl::string_view field = "cccd");
// The birth year encoded by G and YY (after ValidateCccd's checks).
absl::StatusOr<int> CccdBirthYear(absl::string_view cccd, absl::string_view field = "cccd");
absl::StatusOr<Gender> CccdGender(absl::string_view cccd, absl::string_view field = "cccd");
// ValidateCccd, then CCCD_BIRTH_YEAR_MISMATCH when the encoded year differs from dob.y.
absl::Status CheckCccdMatchesBirthDate(absl::string_view cccd, const Date& dob,
                                       absl::string_view field = "cccd");

// CMND_MALFORMED unless exactly 9 digits.
absl::Status ValidateCmnd(absl::string_view cmnd, absl::string_view field = "cmnd");

// By shape only: 12 digits → kCccd, 9 digits → kCmnd, else ID_NUMBER_MALFORMED. Validate a
// CCCD further with ValidateCccd.
absl::StatusOr<IdNumberKind> ClassifyIdNumber(absl::string_view id,
                                              absl::string_view field = "id_number");

}  // namespace dvc::validators
