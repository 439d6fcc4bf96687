// Input validation of the REG-1 forms on top of libs/validators. Each function reports the FIRST
// failing field in form order, with its precise reason.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/registration/domain/flow.h"

namespace dvc::registration {

struct StartMobileInput;

// Order: id_number, full_name, date_of_birth (then the CCCD's encoded birth year against it:
// CCCD_BIRTH_YEAR_MISMATCH on field "date_of_birth"), phone, email (optional), consent_version.
// Fills `out` and `consent_version` with the normalised values.
// `now` gives "today" (Vietnam time) for the date-of-birth check.
absl::Status ValidateStartForm(const StartMobileInput& in, absl::Time now, Applicant* out,
                               std::string* consent_version);

// REG-9 via libs/validators: length, character classes, the applicant's ID number or phone,
// breached list, then the confirmation (PASSWORD_MISMATCH on "password_confirmation").
absl::Status ValidateNewPassword(const std::string& password, const std::string& confirmation,
                                 const Applicant& who);

// The id number as typed, reduced to the form its blind index is computed on (digits only,
// surrounding spaces removed).
std::string NormalizeIdNumber(const std::string& id_number);

bool LooksLikeUuid(const std::string& s);

}  // namespace dvc::registration
