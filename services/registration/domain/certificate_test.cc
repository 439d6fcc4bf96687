// Unit tests of the certificate flows' pure rules: masking, review summary, duplicate keys.
#include "services/registration/domain/certificate.h"

#include <gtest/gtest.h>

#include "libs/status/errors.h"
#include "services/registration/testing/fakes.h"

namespace dvc::registration {
namespace {

namespace certs = ::dvc::registration::testing::certs;
using ::dvc::status::ReasonOf;

TEST(MaskIdentityNumber, KeepsTheEndsOnly) {
  EXPECT_EQ(MaskIdentityNumber("001090012345"), "0010*****345");  // CCCD
  EXPECT_EQ(MaskIdentityNumber("123456789"), "1234**789");        // CMND
  EXPECT_EQ(MaskIdentityNumber("0100686209"), "0100***209");      // MST
  EXPECT_EQ(MaskIdentityNumber("0100686209-199"), "0100******-199");  // branch: dash kept
  EXPECT_EQ(MaskIdentityNumber("B1234567"), "B123*567");          // passport
  EXPECT_EQ(MaskIdentityNumber("12345"), "1***5");
  EXPECT_EQ(MaskIdentityNumber("123"), "***");
  EXPECT_EQ(MaskIdentityNumber(""), "");
}

TEST(SummarizeCertificate, ShowsWhatTheReviewScreenNeeds) {
  CertificateFlow cf;
  cf.subject_kind = SubjectKind::kCitizen;
  cf.certificate = certs::Citizen();
  CertificateSummary s = SummarizeCertificate(cf);
  EXPECT_EQ(s.full_name, "Nguyễn Văn An");
  EXPECT_EQ(s.issuer_name, "VNPT Certification Authority (TEST)");
  EXPECT_EQ(s.valid_from, absl::FromUnixSeconds(1790000000));
  EXPECT_EQ(s.valid_to, absl::FromUnixSeconds(1850000000));
  EXPECT_EQ(s.identity_type, "CCCD");
  EXPECT_EQ(s.masked_identity_number, "0010*****345");

  cf.subject_kind = SubjectKind::kBusiness;
  cf.certificate = certs::Branch();
  s = SummarizeCertificate(cf);
  EXPECT_EQ(s.identity_type, "MST");  // not the representative's CCCD
  EXPECT_EQ(s.masked_identity_number, "0100******-199");

  cf.subject_kind = SubjectKind::kAgency;
  cf.unit_code = "000.00.00.G22";
  cf.certificate = certs::Official();
  s = SummarizeCertificate(cf);
  EXPECT_EQ(s.identity_type, "CCCD");
  EXPECT_EQ(s.organization, "Văn phòng Chính phủ");
  EXPECT_EQ(s.organizational_unit, "Cục Kiểm soát thủ tục hành chính");
  EXPECT_EQ(s.unit_code, "000.00.00.G22");
  EXPECT_EQ(s.masked_identity_number, "0791*****321");

  CertificateInfo passport = certs::Citizen();
  passport.cccd.clear();
  passport.passport = "C7654321";
  cf.subject_kind = SubjectKind::kCitizen;
  cf.certificate = passport;
  s = SummarizeCertificate(cf);
  EXPECT_EQ(s.identity_type, "HC");
  EXPECT_EQ(s.masked_identity_number, "C765*321");
  EXPECT_TRUE(AccountKeysFor(cf).empty());  // accounts' create decides
  EXPECT_EQ(IdentityNumberOf(cf), "C7654321");
}

TEST(CheckCertificateMatchesSubject, NamesAreRequired) {
  CertificateInfo c = certs::Citizen();
  EXPECT_TRUE(CheckCertificateMatchesSubject(SubjectKind::kCitizen, c).ok());
  c.common_name.clear();
  EXPECT_EQ(ReasonOf(CheckCertificateMatchesSubject(SubjectKind::kCitizen, c)),
            "CERTIFICATE_NAME_MISSING");
  CertificateInfo o = certs::Official();
  EXPECT_TRUE(CheckCertificateMatchesSubject(SubjectKind::kAgency, o).ok());
  o.organization.clear();
  EXPECT_EQ(ReasonOf(CheckCertificateMatchesSubject(SubjectKind::kAgency, o)),
            "CERTIFICATE_NAME_MISSING");
  CertificateInfo b = certs::Branch();  // CN only
  EXPECT_TRUE(CheckCertificateMatchesSubject(SubjectKind::kBusiness, b).ok());
  // A government seal with an MST is still a business to SUB-2.
  CertificateInfo seal = certs::Seal();
  seal.mst = "0100686209";
  EXPECT_TRUE(CheckCertificateMatchesSubject(SubjectKind::kBusiness, seal).ok());
  // Every refusal is on the certificate, with both languages.
  auto s = CheckCertificateMatchesSubject(SubjectKind::kAgency, certs::Citizen());
  auto info = status::GetErrorInfo(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason, "CERTIFICATE_NOT_GOVERNMENT");
  EXPECT_EQ(info->field, "certificate");
  EXPECT_NE(info->message_vi.find("Ban Cơ yếu"), std::string::npos);
  EXPECT_FALSE(info->message_en.empty());
}

}  // namespace
}  // namespace dvc::registration
