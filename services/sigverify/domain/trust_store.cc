#include "services/sigverify/domain/trust_store.h"

#include "libs/crypto/encoding.h"
#include "services/sigverify/domain/x509_util.h"

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
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct SpecFile {
  std::string path;
  std::string content;
};

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

absl::StatusOr<TrustAnchor> ToAnchor(X509* x, absl::string_view source) {
  TrustAnchor a;
  a.fingerprint_sha256 = Sha256Fingerprint(x);
  if (a.fingerprint_sha256.empty()) return Invalid(source, "digest failed");
  a.subject = NameToString(X509_get_subject_name(x));
  a.not_after = Asn1TimeToAbsl(X509_get0_notAfter(x)).value_or(absl::InfinitePast());
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  if (len <= 0) return Invalid(source, "cannot encode certificate");
  a.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  a.source = std::string(source);
  a.self_signed = X509_self_signed(x, /*verify_signature=*/1) == 1;
  ERR_clear_error();
  a.x509 = ShareX509(x);
  if (a.x509 == nullptr) return Invalid(source, "out of memory");
  return a;
}

// The files `spec` names, read whole, in load order.
absl::StatusOr<std::vector<SpecFile>> ReadSpec(absl::string_view spec) {
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
  std::vector<SpecFile> out;
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Invalid(f, "cannot read the file");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return Invalid(f, "cannot read the file");
    out.push_back(SpecFile{f, buf.str()});
  }
  return out;
}

std::string DigestFiles(const std::vector<SpecFile>& files) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return "";
  for (const SpecFile& f : files) {
    // Length-prefixed name and content: no two different file sets digest alike.
    for (const std::string* part : {&f.path, &f.content}) {
      const std::string len = absl::StrCat(part->size(), ":");
      EVP_DigestUpdate(ctx.get(), len.data(), len.size());
      EVP_DigestUpdate(ctx.get(), part->data(), part->size());
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &md_len) != 1) return "";
  return crypto::HexEncode(absl::string_view(reinterpret_cast<const char*>(md), md_len));
}

absl::StatusOr<std::vector<TrustAnchor>> ParseFiles(const std::vector<SpecFile>& files) {
  std::vector<TrustAnchor> anchors;
  std::set<std::string> seen;
  for (const SpecFile& f : files) {
    absl::StatusOr<std::vector<TrustAnchor>> certs = ParsePemCertificates(f.content, f.path);
    if (!certs.ok()) return certs.status();
    for (TrustAnchor& a : *certs) {
      if (seen.insert(a.fingerprint_sha256).second) anchors.push_back(std::move(a));
    }
  }
  return anchors;
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
    X509Ptr x = AdoptX509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
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
  absl::StatusOr<std::vector<SpecFile>> files = ReadSpec(spec);
  if (!files.ok()) return files.status();
  return ParseFiles(*files);
}

absl::StatusOr<std::string> TrustStoreSpecDigest(absl::string_view spec) {
  absl::StatusOr<std::vector<SpecFile>> files = ReadSpec(spec);
  if (!files.ok()) return files.status();
  return DigestFiles(*files);
}

TrustStore::TrustStore(std::vector<TrustAnchor> certificates, std::string source_digest)
    : store_(X509_STORE_new()), source_digest_(std::move(source_digest)) {
  for (TrustAnchor& a : certificates) {
    if (a.x509 == nullptr) {  // built by hand from DER
      const unsigned char* p = reinterpret_cast<const unsigned char*>(a.der.data());
      a.x509 = AdoptX509(d2i_X509(nullptr, &p, static_cast<long>(a.der.size())));
      if (a.x509 == nullptr) {
        ERR_clear_error();
        continue;  // not a certificate: cannot anchor anything
      }
    }
    // Decided here from the certificate itself, whatever the caller set.
    a.self_signed = X509_self_signed(a.x509.get(), /*verify_signature=*/1) == 1;
    ERR_clear_error();
    all_.push_back(a);
    if (a.self_signed) {
      if (store_ != nullptr) X509_STORE_add_cert(store_.get(), a.x509.get());
      anchor_fingerprints_.insert(Sha256Fingerprint(a.x509.get()));
      anchors_.push_back(std::move(a));
    } else {
      pool_.push_back(a.x509);
      intermediates_.push_back(std::move(a));
    }
  }
  ERR_clear_error();
}

absl::StatusOr<std::shared_ptr<const TrustStore>> TrustStore::Load(absl::string_view spec) {
  absl::StatusOr<std::vector<SpecFile>> files = ReadSpec(spec);
  if (!files.ok()) return files.status();
  absl::StatusOr<std::vector<TrustAnchor>> certs = ParseFiles(*files);
  if (!certs.ok()) return certs.status();
  auto store = std::make_shared<const TrustStore>(*std::move(certs), DigestFiles(*files));
  if (store->x509_store() == nullptr) return Invalid(spec, "out of memory");
  return store;
}

TrustStoreInfo TrustStore::Info() const {
  TrustStoreInfo info;
  info.anchors = static_cast<int>(anchors_.size());
  for (const TrustAnchor& a : anchors_) info.subjects.push_back(a.subject);
  info.intermediates = static_cast<int>(intermediates_.size());
  for (const TrustAnchor& a : intermediates_) info.intermediate_subjects.push_back(a.subject);
  return info;
}

bool TrustStore::IsAnchor(const X509* cert) const {
  if (cert == nullptr) return false;
  return anchor_fingerprints_.count(Sha256Fingerprint(cert)) > 0;
}

// ---- TrustStoreHolder ----

absl::StatusOr<std::unique_ptr<TrustStoreHolder>> TrustStoreHolder::Create(std::string spec) {
  absl::StatusOr<std::shared_ptr<const TrustStore>> store = TrustStore::Load(spec);
  if (!store.ok()) return store.status();
  return std::make_unique<TrustStoreHolder>(std::move(spec), *std::move(store));
}

TrustStoreHolder::TrustStoreHolder(std::string spec, std::shared_ptr<const TrustStore> initial)
    : spec_(std::move(spec)), current_(std::move(initial)) {
  if (current_ == nullptr) current_ = std::make_shared<const TrustStore>(std::vector<TrustAnchor>{});
}

std::shared_ptr<const TrustStore> TrustStoreHolder::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

absl::Status TrustStoreHolder::Reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  return ReloadLocked(/*only_if_changed=*/false).status();
}

absl::StatusOr<bool> TrustStoreHolder::ReloadIfChanged() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  return ReloadLocked(/*only_if_changed=*/true);
}

absl::StatusOr<bool> TrustStoreHolder::Changed() const {
  absl::StatusOr<std::string> digest = TrustStoreSpecDigest(spec_);
  if (!digest.ok()) return digest.status();
  return *digest != Get()->source_digest();
}

absl::StatusOr<bool> TrustStoreHolder::ReloadLocked(bool only_if_changed) {
  absl::StatusOr<std::vector<SpecFile>> files = ReadSpec(spec_);
  if (!files.ok()) return files.status();
  std::string digest = DigestFiles(*files);
  const std::shared_ptr<const TrustStore> old = Get();
  if (only_if_changed && !digest.empty() && digest == old->source_digest()) return false;
  absl::StatusOr<std::vector<TrustAnchor>> certs = ParseFiles(*files);
  if (!certs.ok()) return certs.status();
  auto fresh = std::make_shared<const TrustStore>(*std::move(certs), std::move(digest));
  if (fresh->x509_store() == nullptr) return Invalid(spec_, "out of memory");
  if (fresh->anchors().empty() && !old->anchors().empty()) {
    return Invalid(spec_, "no root certificate found; keeping the trust store loaded before");
  }
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(fresh);
  return true;
}

}  // namespace dvc::sigverify
