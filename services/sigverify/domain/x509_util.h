// Small OpenSSL helpers shared by sigverify's domain modules: ASN.1 times and SHA-256
// fingerprints.
#pragma once

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace dvc::sigverify {

// The instant an ASN.1 UTCTime / GeneralizedTime denotes; nullopt when null or unparsable.
std::optional<absl::Time> Asn1TimeToAbsl(const ASN1_TIME* t);

// Lower-case hex SHA-256 of the certificate's DER ("" if OpenSSL cannot digest it): the
// certificate's identity as a credential and as a trust anchor.
std::string Sha256Fingerprint(const X509* x);

}  // namespace dvc::sigverify
