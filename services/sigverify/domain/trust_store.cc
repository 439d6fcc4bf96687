#include "services/sigverify/domain/trust_store.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/status/errors.h"

namespace dvc::sigverify {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

absl::Status Invalid(absl::string_view source, absl::string_view why) {
  return status::InvalidArgument(
      "TRUST_STORE_INVALID", "trust_store",
      absl::StrCat("Không đọc được kho chứng thư gốc (", source, "): ", why, "."),
      absl::StrCat("Cannot load the trust store (", source, "): ", why, "."));
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  // RFC 2253 without escaping bytes ≥ 0x80, so UTF-8 (Vietnamese) stays readable.
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

absl::Time Asn1TimeToAbsl(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                           tm.tm_hour, tm.tm_min, tm.tm_sec),
                         absl::UTCTimeZone());
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xF]);
  }
  return out;
}

absl::StatusOr<TrustAnchor> ToAnchor(X509* x, absl::string_view source) {
  TrustAnchor a;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(x, EVP_sha256(), md, &md_len) != 1) return Invalid(source, "digest failed");
  a.fingerprint_sha256 = Hex(md, md_len);
  a.subject = NameToString(X509_get_subject_name(x));
  a.not_after = Asn1TimeToAbsl(X509_get0_notAfter(x));
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  if (len <= 0) return Invalid(source, "cannot encode certificate");
  a.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  a.source = std::string(source);
  return a;
}

}  // namespace

absl::StatusOr<std::vector<TrustAnchor>> ParsePemCertificates(absl::string_view pem,
                                                              absl::string_view source) {
  std::vector<TrustAnchor> out;
  if (pem.size() > static_cast<size_t>(INT32_MAX)) return Invalid(source, "file too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Invalid(source, "out of memory");
  ERR_clear_error();
  for (;;) {
    // PEM_read_bio_X509 skips blocks of other types (keys, CRLs …) up to the next certificate.
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) {
      const unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;
      if (err == 0) break;
      return Invalid(source, absl::StrCat("corrupt certificate #", out.size() + 1));
    }
    absl::StatusOr<TrustAnchor> a = ToAnchor(x.get(), source);
    if (!a.ok()) return a.status();
    out.push_back(*std::move(a));
  }
  return out;
}

absl::StatusOr<std::vector<TrustAnchor>> LoadTrustStore(absl::string_view spec) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (absl::string_view part : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    const std::string path(absl::StripAsciiWhitespace(part));
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) return Invalid(path, "no such file or directory");
    if (fs::is_directory(st)) {
      std::vector<std::string> in_dir;
      for (const auto& e : fs::directory_iterator(path, ec)) {
        std::error_code ec2;
        if (e.is_regular_file(ec2)) in_dir.push_back(e.path().string());
      }
      if (ec) return Invalid(path, "cannot list the directory");
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(path);
    }
  }
  std::vector<TrustAnchor> anchors;
  std::set<std::string> seen;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Invalid(f, "cannot read the file");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return Invalid(f, "cannot read the file");
    absl::StatusOr<std::vector<TrustAnchor>> certs = ParsePemCertificates(buf.str(), f);
    if (!certs.ok()) return certs.status();
    for (TrustAnchor& a : *certs) {
      if (seen.insert(a.fingerprint_sha256).second) anchors.push_back(std::move(a));
    }
  }
  return anchors;
}

TrustStoreInfo TrustStore::Info() const {
  TrustStoreInfo info;
  info.anchors = static_cast<int>(anchors_.size());
  for (const TrustAnchor& a : anchors_) info.subjects.push_back(a.subject);
  return info;
}

}  // namespace dvc::sigverify
