// The test PKI (tools/pki/gen) as the end-to-end tests see it: the manifest the stack wrote
// (PKI_MANIFEST), each certificate's DER chain and the facts a test asserts (fingerprint, names,
// validity), and signing on the SoftHSM2 tokens through PKCS#11 — the browser plug-in's role
// (tools/usb_signer): open the token, list its certificates, pick the one wanted, sign.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/usb_signer/pkcs11_token.h"

namespace dvc::e2e {

struct ManifestCert {
  // As the manifest declares them.
  std::string name, cert_pem, issuer, kind, phone, smartca_user_id, token, expect;
  std::vector<std::string> uids;
  std::vector<std::string> chain_der;  // leaf first, then its intermediate(s)
  // Read from the leaf certificate.
  std::string fingerprint_sha256;  // lower-case hex SHA-256 of the leaf's DER
  std::string common_name, organization, organizational_unit, email;  // subject, UTF-8
  std::string issuer_common_name;                                     // UTF-8
  absl::Time not_before, not_after;

  const std::string& der() const { return chain_der.front(); }
  std::vector<std::string> intermediates() const {
    return chain_der.empty() ? std::vector<std::string>{}
                             : std::vector<std::string>(chain_der.begin() + 1, chain_der.end());
  }
  bool is_ecdsa() const { return name.find("ecdsa") != std::string::npos; }
  // The value of the first UID with this prefix ("CCCD", "MST"), or "".
  std::string Uid(absl::string_view prefix) const;
  // The SIM's phone in the domestic form a user types (0xxxxxxxxx).
  std::string domestic_phone() const { return phone.empty() ? "" : "0" + phone.substr(2); }
};

struct Manifest {
  std::map<std::string, ManifestCert> certs;
  std::map<std::string, std::string> token_pins;  // token label → user PIN
  std::string module;                             // the PKCS#11 module (libsofthsm2.so)
};

// The stack's PKI (read once from $PKI_MANIFEST; a test failure when it cannot be read).
const Manifest& TheManifest();
// A certificate of the manifest by name; an empty one (and a test failure) when absent.
const ManifestCert& PkiCert(const std::string& name);

// Signs `data` with the key of `mc` on its token: opens the token with its PIN, lists the
// certificates on it and picks the one whose DER is `mc`'s (a token may hold several), then
// signs on the token. "" and a test failure on any error.
std::string TokenSign(const ManifestCert& mc, absl::string_view data,
                      usb_signer::SignatureFormat format);

}  // namespace dvc::e2e
