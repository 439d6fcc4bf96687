// The certificate handle shared by sigverify's domain modules: a reference-counted OpenSSL X509
// released with X509_free. (domain/certificate.h includes this header; it is the one definition.)
#pragma once

#include <openssl/x509.h>

#include <memory>

namespace dvc::sigverify {

using X509Ptr = std::shared_ptr<X509>;

// Takes ownership of `x` (one reference); null stays null.
inline X509Ptr AdoptX509(X509* x) {
  if (x == nullptr) return nullptr;
  return X509Ptr(x, X509_free);
}

// Adds a reference to `x` (owned elsewhere) and wraps it; null stays null.
inline X509Ptr ShareX509(X509* x) {
  if (x == nullptr || X509_up_ref(x) != 1) return nullptr;
  return X509Ptr(x, X509_free);
}

}  // namespace dvc::sigverify
