#include "services/auth/domain/testing/fakes.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/status/errors.h"

namespace dvc::auth::testing {

// ---- FakeAuthStore ---------------------------------------------------------------------------

absl::Status FakeAuthStore::CreateLoginFlow(const LoginFlow& flow) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  if (flows_.count(flow.flow_id)) return absl::AlreadyExistsError("flow exists");
  flows_[flow.flow_id] = flow;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LoginFlow>> FakeAuthStore::GetLoginFlow(const std::string& flow_id) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  auto it = flows_.find(flow_id);
  if (it == flows_.end()) return std::optional<LoginFlow>();
  return std::optional<LoginFlow>(it->second);
}

absl::StatusOr<bool> FakeAuthStore::CompleteLoginFlow(const std::string& flow_id, absl::Time now) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  auto it = flows_.find(flow_id);
  if (it == flows_.end() || it->second.completed_at.has_value()) return false;
  it->second.completed_at = now;
  return true;
}

absl::Status FakeAuthStore::UpdateThrottles(
    const std::vector<std::string>& keys,
    const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn) {
  ++transactions_;
  return ApplyThrottles(keys, fn);
}

absl::Status FakeAuthStore::ApplyThrottles(
    const std::vector<std::string>& keys,
    const std::function<absl::Status(std::vector<ThrottleState>& states)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ThrottleState> states;
  for (const auto& k : keys) {
    auto it = throttles_.find(k);
    if (it != throttles_.end()) {
      states.push_back(it->second);
    } else {
      ThrottleState s;
      s.key = k;
      states.push_back(s);
    }
  }
  if (absl::Status s = fn(states); !s.ok()) return s;
  for (size_t i = 0; i < keys.size(); ++i) {
    states[i].key = keys[i];
    throttles_[keys[i]] = states[i];
  }
  return absl::OkStatus();
}

absl::StatusOr<int> FakeAuthStore::IncrementWindow(const std::string& key,
                                                   absl::Time window_start) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  return ++windows_[{key, absl::ToUnixSeconds(window_start)}];
}

absl::Status FakeAuthStore::AdmitPasswordAttempt(const PasswordAdmission& a) {
  ++transactions_;
  int count = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    count = ++windows_[{a.ip_window_key, absl::ToUnixSeconds(a.ip_window_start)}];
  }
  if (absl::Status s = a.check_ip(count); !s.ok()) return s;
  if (absl::Status s = captcha_->Verify(a.captcha_id, a.captcha_answer); !s.ok()) return s;
  return ApplyThrottles(a.throttle.keys, a.throttle.fn);
}

absl::Status FakeAuthStore::UpdateThrottlesAndCreateFlow(const ThrottleUpdate& update,
                                                         const LoginFlow& flow) {
  ++transactions_;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (flows_.count(flow.flow_id)) return absl::AlreadyExistsError("flow exists");
  }
  if (absl::Status s = ApplyThrottles(update.keys, update.fn); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  flows_[flow.flow_id] = flow;
  return absl::OkStatus();
}

absl::Status FakeAuthStore::AppendLoginRecord(const LoginRecord& record) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  records_.push_back(record);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LoginRecord>> FakeAuthStore::ListLoginRecords(
    const std::string& account_id, int limit) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  std::vector<LoginRecord> out;
  for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
    if (it->account_id == account_id) out.push_back(*it);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const LoginRecord& a, const LoginRecord& b) { return a.at > b.at; });
  if (static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

absl::Status FakeAuthStore::CreateSession(const Session& session, const RefreshRecord& first) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  sessions_[session.session_id] = session;
  tokens_[first.token_hmac] = Token{first, std::nullopt};
  return absl::OkStatus();
}

absl::StatusOr<RotateResult> FakeAuthStore::RotateRefreshToken(const std::string& old_hmac,
                                                               RefreshRecord next, absl::Time now,
                                                               absl::Duration reuse_grace) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  RotateResult r;
  auto it = tokens_.find(old_hmac);
  if (it == tokens_.end()) return r;
  Session& session = sessions_[it->second.record.session_id];
  r.session = session;
  next.session_id = session.session_id;
  next.idle_expires_at = std::min(next.idle_expires_at, session.expires_at);
  Token& old = it->second;
  if (old.used_at.has_value() || old.superseded) {
    auto successor = tokens_.find(old.replaced_by);
    if (!old.superseded && reuse_grace > absl::ZeroDuration() &&
        now - *old.used_at < reuse_grace && !session.revoked_at.has_value() &&
        now < session.expires_at && successor != tokens_.end() &&
        !successor->second.used_at.has_value() && !successor->second.superseded) {
      successor->second.superseded = true;
      old.replaced_by = next.token_hmac;
      tokens_[next.token_hmac] = Token{next, std::nullopt};
      r.outcome = RotateOutcome::kGraceReplay;
      return r;
    }
    if (!session.revoked_at.has_value()) session.revoked_at = now;
    r.session = session;
    r.outcome = RotateOutcome::kReused;
    return r;
  }
  if (session.revoked_at.has_value()) {
    r.outcome = RotateOutcome::kRevoked;
    return r;
  }
  if (now >= it->second.record.idle_expires_at || now >= session.expires_at) {
    r.outcome = RotateOutcome::kExpired;
    return r;
  }
  old.used_at = now;
  old.replaced_by = next.token_hmac;
  tokens_[next.token_hmac] = Token{next, std::nullopt};
  r.outcome = RotateOutcome::kRotated;
  return r;
}

absl::StatusOr<std::optional<std::string>> FakeAuthStore::RevokeSessionByRefresh(
    const std::string& token_hmac, absl::Time now, const std::string& reason) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  auto it = tokens_.find(token_hmac);
  if (it == tokens_.end()) return std::optional<std::string>();
  Session& s = sessions_[it->second.record.session_id];
  if (!s.revoked_at.has_value()) s.revoked_at = now;
  return std::optional<std::string>(s.session_id);
}

absl::StatusOr<SessionState> FakeAuthStore::GetSessionState(const std::string& session_id) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  ++session_state_queries_;
  if (fail_session_state_) return absl::UnavailableError("db down");
  SessionState st;
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return st;
  st.exists = true;
  st.revoked = it->second.revoked_at.has_value();
  st.expires_at = it->second.expires_at;
  return st;
}

absl::StatusOr<std::vector<std::string>> FakeAuthStore::RevokeSessionsOfAccount(
    const std::string& account_id, absl::Time created_before, absl::Time now,
    const std::string& reason) {
  ++transactions_;
  std::lock_guard<std::mutex> l(mu_);
  if (fail_revoke_) return absl::UnavailableError("db down");
  std::vector<std::string> revoked;
  for (auto& [id, s] : sessions_) {
    if (s.account_id != account_id || s.revoked_at.has_value()) continue;
    if (s.created_at >= created_before || s.expires_at <= now) continue;
    s.revoked_at = now;
    revoke_reasons_[id] = reason;
    revoked.push_back(id);
  }
  return revoked;
}

std::string FakeAuthStore::RevokeReason(const std::string& session_id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = revoke_reasons_.find(session_id);
  return it == revoke_reasons_.end() ? "" : it->second;
}

absl::StatusOr<int64_t> FakeAuthStore::PurgeExpired(absl::Time, absl::Duration, absl::Duration) {
  ++transactions_;
  return 0;
}

int FakeAuthStore::session_state_queries() const {
  std::lock_guard<std::mutex> l(mu_);
  return session_state_queries_;
}

std::optional<ThrottleState> FakeAuthStore::Throttle(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = throttles_.find(key);
  if (it == throttles_.end()) return std::nullopt;
  return it->second;
}

int FakeAuthStore::WindowCount(const std::string& key, absl::Time window_start) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = windows_.find({key, absl::ToUnixSeconds(window_start)});
  return it == windows_.end() ? 0 : it->second;
}

std::vector<LoginRecord> FakeAuthStore::AllRecords() const {
  std::lock_guard<std::mutex> l(mu_);
  return records_;
}

void FakeAuthStore::RevokeSession(const std::string& session_id, absl::Time now) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = sessions_.find(session_id);
  if (it != sessions_.end() && !it->second.revoked_at.has_value()) it->second.revoked_at = now;
}

// ---- FakeAccounts ----------------------------------------------------------------------------

void FakeAccounts::Add(FakeAccount a) {
  std::lock_guard<std::mutex> l(mu_);
  accounts_[a.id_number] = std::move(a);
}

absl::StatusOr<PasswordVerdict> FakeAccounts::VerifyPassword(const std::string& id_number,
                                                             const std::string& password) {
  std::lock_guard<std::mutex> l(mu_);
  ++verify_calls_;
  if (!fail_.ok()) return fail_;
  PasswordVerdict v;
  auto it = accounts_.find(id_number);
  if (it == accounts_.end() || it->second.password != password) return v;
  v.valid = true;
  v.account_id = it->second.account_id;
  v.ial = it->second.ial;
  v.phone = it->second.phone;
  v.status = it->second.status;
  return v;
}

absl::StatusOr<std::optional<std::string>> FakeAccounts::FindAccountId(
    const std::string& id_number) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = accounts_.find(id_number);
  if (it == accounts_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second.account_id);
}

absl::StatusOr<CertificateHolder> FakeAccounts::FindByCertificate(const std::string& fingerprint) {
  std::lock_guard<std::mutex> l(mu_);
  if (!fail_.ok()) return fail_;
  CertificateHolder h;
  auto it = certificates_.find(fingerprint);
  if (it == certificates_.end()) return h;
  for (const auto& [id_number, a] : accounts_) {
    if (a.account_id != it->second.first) continue;
    h.found = true;
    h.account_id = a.account_id;
    h.status = a.status;
    h.ial = a.ial;
    h.method = it->second.second;
  }
  return h;
}

void FakeAccounts::AddCertificate(const std::string& fingerprint, const std::string& account_id,
                                  const std::string& method) {
  std::lock_guard<std::mutex> l(mu_);
  certificates_[fingerprint] = {account_id, method};
}

void FakeAccounts::SetStatus(const std::string& account_id, AccountStatus status) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [id_number, a] : accounts_) {
    if (a.account_id == account_id) a.status = status;
  }
}

int FakeAccounts::verify_calls() const {
  std::lock_guard<std::mutex> l(mu_);
  return verify_calls_;
}

void FakeAccounts::set_fail(absl::Status s) {
  std::lock_guard<std::mutex> l(mu_);
  fail_ = std::move(s);
}

// ---- FakeSigverify -----------------------------------------------------------------------------

namespace {

absl::Status NotLogin(sigverify::client::Purpose purpose) {
  if (purpose == sigverify::client::Purpose::kLogin) return absl::OkStatus();
  return absl::InternalError("fake sigverify: auth must call for purpose LOGIN");
}

VerifiedSigner Signer(std::string fingerprint, std::string method) {
  VerifiedSigner signer;
  signer.fingerprint_sha256 = std::move(fingerprint);
  signer.method = std::move(method);
  return signer;
}

}  // namespace

absl::StatusOr<sigverify::client::Challenge> FakeSigverify::IssueChallenge(
    Purpose purpose, const std::string& flow_id) {
  if (absl::Status s = NotLogin(purpose); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  std::string id = absl::StrCat("chal-", ++next_);
  challenges_[id] = Challenge{flow_id, false};
  return sigverify::client::Challenge{id, absl::StrCat("DVC LOGIN ", id, " ", flow_id),
                                      clock_->Now() + absl::Minutes(5)};
}

absl::StatusOr<VerifiedSigner> FakeSigverify::VerifyChallengeSignature(
    Purpose purpose, const ChallengeSignature& sig) {
  if (absl::Status s = NotLogin(purpose); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  ++verify_calls_;
  auto it = challenges_.find(sig.challenge_id);
  if (it == challenges_.end() || it->second.flow_id != sig.flow_id) {
    return status::NotFound("CHALLENGE_NOT_FOUND", "challenge_id", "x", "x");
  }
  if (it->second.used) {
    return status::FailedPrecondition("CHALLENGE_USED", "challenge_id", "Đã dùng.",
                                      "The challenge was already used.");
  }
  it->second.used = true;
  if (!verify_error_.ok()) {
    absl::Status s = verify_error_;
    verify_error_ = absl::OkStatus();
    return s;
  }
  if (!absl::StartsWith(sig.signature, "sig:")) {
    return status::InvalidArgument("SIGNATURE_INVALID", "signature", "Chữ ký không hợp lệ.",
                                   "The signature is invalid.");
  }
  return Signer(sig.signature.substr(4), "USB");
}

absl::StatusOr<sigverify::client::RemoteSignatureStarted> FakeSigverify::StartRemoteSignature(
    Purpose purpose, const sigverify::client::RemoteSignatureRequest& request) {
  if (absl::Status s = NotLogin(purpose); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  if (!start_error_.ok()) return start_error_;
  std::string id = absl::StrCat("tx-", ++next_);
  transactions_[id] =
      Transaction{request.flow_id, request.provider == RemoteProvider::kSim ? "SIM" : "SMARTCA",
                  "", absl::OkStatus()};
  started_.push_back(
      {request.flow_id, id, request.subscriber, request.display_text, request.provider});
  return sigverify::client::RemoteSignatureStarted{id, "4821", clock_->Now() + absl::Minutes(2)};
}

absl::StatusOr<sigverify::client::RemoteSignatureOutcome> FakeSigverify::GetRemoteSignatureResult(
    Purpose purpose, const std::string& transaction_id, const std::string& flow_id) {
  if (absl::Status s = NotLogin(purpose); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  auto it = transactions_.find(transaction_id);
  if (it == transactions_.end() || it->second.flow_id != flow_id) {
    return status::NotFound("TRANSACTION_NOT_FOUND", "transaction_id", "x", "x");
  }
  if (!it->second.failure.ok()) return it->second.failure;
  sigverify::client::RemoteSignatureOutcome out;
  if (it->second.fingerprint.empty()) return out;
  out.pending = false;
  out.signer = Signer(it->second.fingerprint, it->second.method);
  return out;
}

void FakeSigverify::Confirm(const std::string& transaction_id, const std::string& fingerprint) {
  std::lock_guard<std::mutex> l(mu_);
  transactions_[transaction_id].fingerprint = fingerprint;
}

void FakeSigverify::Fail(const std::string& transaction_id, absl::Status s) {
  std::lock_guard<std::mutex> l(mu_);
  transactions_[transaction_id].failure = std::move(s);
}

void FakeSigverify::set_verify_error(absl::Status s) {
  std::lock_guard<std::mutex> l(mu_);
  verify_error_ = std::move(s);
}

void FakeSigverify::set_start_error(absl::Status s) {
  std::lock_guard<std::mutex> l(mu_);
  start_error_ = std::move(s);
}

std::vector<FakeSigverify::Started> FakeSigverify::started() const {
  std::lock_guard<std::mutex> l(mu_);
  return started_;
}

int FakeSigverify::verify_calls() const {
  std::lock_guard<std::mutex> l(mu_);
  return verify_calls_;
}

// ---- FakeCaptcha -----------------------------------------------------------------------------

absl::StatusOr<captcha::IssuedCaptcha> FakeCaptcha::Issue() {
  std::lock_guard<std::mutex> l(mu_);
  captcha::IssuedCaptcha c;
  c.captcha_id = absl::StrCat("cap-", ++next_);
  c.png = "\x89PNG";
  c.expires_at = absl::Now() + absl::Minutes(5);
  c.dev_answer = "ok";
  return c;
}

absl::Status FakeCaptcha::Verify(const std::string& captcha_id, const std::string& answer) {
  std::lock_guard<std::mutex> l(mu_);
  if (captcha_id.empty() || answer.empty()) {
    return status::InvalidArgument("CAPTCHA_REQUIRED", "captcha_answer", "x", "x");
  }
  bool& used = used_[captcha_id];
  if (used || answer != "ok") {
    used = true;
    return status::InvalidArgument("CAPTCHA_INVALID", "captcha_answer", "x", "x");
  }
  used = true;
  return absl::OkStatus();
}

}  // namespace dvc::auth::testing
