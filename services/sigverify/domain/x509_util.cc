#include "services/sigverify/domain/x509_util.h"

#include <openssl/evp.h>

#include <ctime>

#include "libs/crypto/encoding.h"

namespace dvc::sigverify {

std::optional<absl::Time> Asn1TimeToAbsl(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                           tm.tm_hour, tm.tm_min, tm.tm_sec),
                         absl::UTCTimeZone());
}

std::string Sha256Fingerprint(const X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(x, EVP_sha256(), md, &md_len) != 1) return "";
  return crypto::HexEncode(absl::string_view(reinterpret_cast<const char*>(md), md_len));
}

}  // namespace dvc::sigverify
