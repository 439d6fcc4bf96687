// The rules of the certificate registration flows (REG-3 SIM, REG-4 USB, REG-6 SmartCA) that do
// not need any port: the start form, the consistency of the chosen subject kind with the verified
// certificate (SUB-1..3), what is shown for review, the duplicate-check key and the account
// request built from the certificate. The state machine is in registration.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/status/errors.h"
#include "services/registration/domain/flow.h"
#include "services/registration/domain/ports.h"

namespace dvc::registration {

struct StartCertificateInput {
  std::string captcha_id;
  std::string captcha_answer;
  std::string method;        // "USB" | "SIM" | "SMARTCA" ("" = not chosen)
  std::string subject_kind;  // "CITIZEN" | "BUSINESS" | "AGENCY" ("" = not chosen)
  std::string phone;             // SIM: the SIM's number
  std::string smartca_user_id;   // SMARTCA
  std::string unit_code;         // AGENCY: NNN.NN.NN.XNN
  std::string consent_version;
};

// The start form, first failing field in form order: method, subject_kind (then SUB-3:
// SmartCA is not for agencies → METHOD_NOT_ALLOWED_FOR_SUBJECT on "method"), phone (SIM),
// smartca_user_id (SMARTCA), unit_code (AGENCY), consent_version. Fills `method`, `cert`
// (subject kind, subscriber, unit code) and `consent_version` with normalised values.
absl::Status ValidateCertificateStart(const StartCertificateInput& in, std::string* method,
                                      CertificateFlow* cert, std::string* consent_version);

// SUB-1..3 against what the certificate says: CITIZEN needs a personal UID (CCCD/CMND/HC) and
// no MST; BUSINESS needs an MST; AGENCY needs the official's CCCD and a chain to the government
// root. Then a name (CN, or O for a business). INVALID_ARGUMENT on field "certificate":
// CERTIFICATE_NOT_PERSONAL, CERTIFICATE_IS_BUSINESS, CERTIFICATE_NOT_BUSINESS,
// CERTIFICATE_NOT_OFFICIAL, CERTIFICATE_NOT_GOVERNMENT, CERTIFICATE_NAME_MISSING.
absl::Status CheckCertificateMatchesSubject(SubjectKind kind, const CertificateInfo& cert);

// "0010*****345": the first 4 and the last 3 characters kept (fewer for short values), the
// rest starred. Empty stays empty.
std::string MaskIdentityNumber(const std::string& number);

// What the review screen shows (REG-3/4: name, organisation, CA name, validity, the identity
// number masked).
struct CertificateSummary {
  std::string full_name;     // CN: the person, the official, or the business's certificate name
  std::string organization;  // O
  std::string organizational_unit;
  std::string issuer_name;   // CA name (issuer CN)
  absl::Time valid_from;
  absl::Time valid_to;
  std::string identity_type;           // "CCCD" | "CMND" | "HC" | "MST"
  std::string masked_identity_number;  // e.g. "0010*****345"
  std::string email;                   // from the certificate, to prefill the form
  std::string unit_code;               // AGENCY: as typed at the start
};
CertificateSummary SummarizeCertificate(const CertificateFlow& cert);

// The duplicate-check keys, in order (a citizen: CCCD, then CMND); none when the certificate
// names no key accounts can look up (a citizen with a passport number only: accounts' create
// decides).
std::vector<AccountKey> AccountKeysFor(const CertificateFlow& cert);

// The identity number the certificate proves for the subject kind: CCCD/CMND/HC (citizen),
// MST (business), the official's CCCD (agency).
std::string IdentityNumberOf(const CertificateFlow& cert);

// The certificate as a credential; a SIM subscriber in MSISDN form (84xxxxxxxxx).
CertificateCredential CredentialOf(const CertificateFlow& cert, const std::string& method);

// The account to create from the verified certificate (REG-3/4/6): citizen full name = CN,
// CCCD/CMND/HC from the UIDs; business name = O (else CN), MST, the representative's CCCD if
// the certificate names one; agency organisation = O, official = CN + CCCD, unit code from the
// form. `email`/`phone` are the normalised optional contact details of the final form.
NewCertificateAccount BuildCertificateAccount(const Flow& flow, const std::string& email,
                                              const std::string& phone);

// The seed's guidance when an account already exists (SUB-4; shown in EXISTING_ACCOUNT):
// reason ACCOUNT_EXISTS, what to do (log in to add this certificate, "Quên mật khẩu", a
// service counter, a complaint).
status::ErrorInfo ExistingAccountNotice(SubjectKind kind);

// The verification code text shown on the phone for SIM / SmartCA (the provider may strip
// diacritics, so none are used).
inline constexpr char kRemoteDisplayText[] = "Dang ky tai khoan Cong Dich vu cong Quoc gia";

}  // namespace dvc::registration
