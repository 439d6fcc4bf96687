#include "tests/e2e/pki.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "libs/jwt/json.h"
#include "tests/e2e/stack.h"

namespace dvc::e2e {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> PemToDers(const std::string& pem) {
  std::vector<std::string> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    unsigned char* der = nullptr;
    const int n = i2d_X509(x, &der);
    out.emplace_back(reinterpret_cast<char*>(der), n);
    OPENSSL_free(der);
    X509_free(x);
  }
  BIO_free(bio);
  return out;
}

std::map<std::string, std::string> ObjectMembers(const std::string& raw) {
  std::map<std::string, std::string> out;
  auto obj = jwt::ParseFlatJson(raw);
  if (!obj.ok()) return out;
  for (const auto& [k, v] : obj->fields()) out[k] = *obj->GetRaw(k);
  return out;
}

std::string NameEntry(const X509_NAME* name, int nid) {
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), n);
  OPENSSL_free(utf8);
  return out;
}

absl::Time TimeOf(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}

// Fills the fields read from the leaf certificate.
void ReadLeaf(ManifestCert& mc) {
  if (mc.chain_der.empty()) return;
  const std::string& der = mc.chain_der.front();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(der.data(), der.size(), md, &md_len, EVP_sha256(), nullptr);
  mc.fingerprint_sha256 =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), md_len));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, decltype(&X509_free)> x(d2i_X509(nullptr, &p, der.size()), X509_free);
  if (x == nullptr) return;
  const X509_NAME* subject = X509_get_subject_name(x.get());
  mc.common_name = NameEntry(subject, NID_commonName);
  mc.organization = NameEntry(subject, NID_organizationName);
  mc.organizational_unit = NameEntry(subject, NID_organizationalUnitName);
  mc.email = NameEntry(subject, NID_pkcs9_emailAddress);
  mc.issuer_common_name = NameEntry(X509_get_issuer_name(x.get()), NID_commonName);
  mc.not_before = TimeOf(X509_get0_notBefore(x.get()));
  mc.not_after = TimeOf(X509_get0_notAfter(x.get()));
}

Manifest LoadManifest() {
  Manifest m;
  const std::string path = Env("PKI_MANIFEST");
  if (path.empty()) return m;
  const std::string text = ReadFile(path);
  auto root = jwt::ParseFlatJson(text);
  EXPECT_TRUE(root.ok()) << path << ": " << root.status();
  if (!root.ok()) return m;
  for (const auto& [name, raw] : ObjectMembers(root->GetRaw("certs").value_or("{}"))) {
    auto c = jwt::ParseFlatJson(raw);
    if (!c.ok()) continue;
    ManifestCert mc;
    mc.name = name;
    mc.cert_pem = ReadFile(c->GetString("cert").value_or(""));
    mc.issuer = c->GetString("issuer").value_or("");
    mc.kind = c->GetString("kind").value_or("");
    mc.phone = c->GetString("phone").value_or("");
    mc.smartca_user_id = c->GetString("smartca_user_id").value_or("");
    mc.token = c->GetString("token").value_or("");
    mc.expect = c->GetString("expect").value_or("");
    mc.uids = c->GetStringArray("uids").value_or(std::vector<std::string>{});
    mc.chain_der = PemToDers(ReadFile(c->GetString("chain").value_or("")));
    ReadLeaf(mc);
    m.certs[name] = mc;
  }
  auto softhsm = jwt::ParseFlatJson(root->GetRaw("softhsm").value_or("{}"));
  if (softhsm.ok()) {
    m.module = softhsm->GetString("module").value_or("");
    // tokens: an array of objects (the flat parser hands arrays of objects back raw).
    const std::string tokens = softhsm->GetRaw("tokens").value_or("[]");
    static const std::regex kToken(R"re("label"\s*:\s*"([^"]+)"\s*,\s*"pin"\s*:\s*"([^"]+)")re");
    for (auto it = std::sregex_iterator(tokens.begin(), tokens.end(), kToken);
         it != std::sregex_iterator(); ++it) {
      m.token_pins[(*it)[1]] = (*it)[2];
    }
  }
  return m;
}

}  // namespace

std::string ManifestCert::Uid(absl::string_view prefix) const {
  for (const auto& u : uids) {
    if (absl::StartsWith(u, prefix) && u.size() > prefix.size() && u[prefix.size()] == ':') {
      return u.substr(prefix.size() + 1);
    }
  }
  return "";
}

const Manifest& TheManifest() {
  static const Manifest* m = new Manifest(LoadManifest());
  return *m;
}

const ManifestCert& PkiCert(const std::string& name) {
  static const ManifestCert* empty = [] {
    auto* e = new ManifestCert;
    e->chain_der.emplace_back();  // der() stays safe to call
    return e;
  }();
  auto it = TheManifest().certs.find(name);
  if (it == TheManifest().certs.end() || it->second.chain_der.empty()) {
    ADD_FAILURE() << "certificate " << name << " is not in the PKI manifest";
    return *empty;
  }
  return it->second;
}

std::string TokenSign(const ManifestCert& mc, absl::string_view data,
                      usb_signer::SignatureFormat format) {
  const Manifest& m = TheManifest();
  auto pin = m.token_pins.find(mc.token);
  if (mc.token.empty() || pin == m.token_pins.end()) {
    ADD_FAILURE() << mc.name << " is on no token of the manifest";
    return "";
  }
  auto token = usb_signer::Pkcs11Token::Open(m.module, mc.token, pin->second);
  EXPECT_TRUE(token.ok()) << token.status();
  if (!token.ok()) return "";
  for (const auto& c : (*token)->ListCertificates()) {
    if (c.der != mc.der()) continue;
    auto sig = (*token)->Sign(c.id, data, format);
    EXPECT_TRUE(sig.ok()) << sig.status();
    return sig.ok() ? *sig : "";
  }
  ADD_FAILURE() << mc.name << " is not on token " << mc.token;
  return "";
}

}  // namespace dvc::e2e
