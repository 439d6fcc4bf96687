#include "services/auth/domain/auth.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/crypto/aead.h"
#include "libs/crypto/encoding.h"
#include "libs/crypto/hmac.h"
#include "libs/jwt/json.h"
#include "libs/jwt/jwt.h"
#include "libs/logging/log.h"
#include "libs/status/errors.h"
#include "libs/validators/phone.h"

namespace dvc::auth {
namespace {

constexpr size_t kRefreshTokenBytes = 32;
constexpr int kDefaultHistoryLimit = 20;
constexpr int kMaxHistoryLimit = 100;
// Every sigverify call auth makes is for a login.
constexpr sigverify::client::Purpose kSigverifyLogin = sigverify::client::Purpose::kLogin;

// CCCD (12 digits) or CMND (9 digits), spaces removed.
std::string NormalizeIdNumber(const std::string& raw) {
  std::string out;
  for (char c : raw) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

bool WellFormedIdNumber(const std::string& s) {
  if (s.size() != 9 && s.size() != 12) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

absl::Status FlowNotFound() {
  return status::NotFound("LOGIN_FLOW_NOT_FOUND", "login_flow_id", "Phiên đăng nhập không tồn tại.",
                          "The login flow does not exist.");
}

absl::Status RefreshTokenInvalid() {
  return status::Unauthenticated("REFRESH_TOKEN_INVALID",
                                 "Phiên đăng nhập không hợp lệ. Vui lòng đăng nhập lại.",
                                 "The refresh token is invalid. Please sign in again.");
}

absl::Status DependencyUnavailable() {
  return status::Unavailable("DEPENDENCY_UNAVAILABLE", "Hệ thống đang bận. Vui lòng thử lại sau.",
                             "The service is temporarily unavailable. Please try again later.");
}

absl::Status AccountIdInvalid() {
  return status::InvalidArgument("ACCOUNT_ID_INVALID", "account_id", "Mã tài khoản không hợp lệ.",
                                 "The account id is invalid.");
}

absl::Status FlowCompleted() {
  return status::FailedPrecondition("LOGIN_FLOW_COMPLETED", "login_flow_id",
                                    "Phiên đăng nhập đã hoàn tất.",
                                    "The login flow has already been completed.");
}

absl::Status MethodMismatch() {
  return status::FailedPrecondition("LOGIN_METHOD_MISMATCH", "login_flow_id",
                                    "Phiên đăng nhập này dùng phương thức đăng nhập khác.",
                                    "This login flow uses another sign-in method.");
}

absl::Status CertificateNotRegistered() {
  return status::Unauthenticated(
      "CERTIFICATE_NOT_REGISTERED",
      "Chứng thư số này chưa được đăng ký cho tài khoản nào — hãy đăng ký tài khoản hoặc thêm "
      "chứng thư số trong phần quản lý tài khoản.",
      "This certificate is not registered to an account — register it or add it in account "
      "settings.");
}

bool IsCertificateMethod(const std::string& m) {
  return m == kLoginMethodUsb || m == kLoginMethodSim || m == kLoginMethodSmartCa;
}

// SmartCA user ids: 1–64 of [A-Za-z0-9_.@-] (as sigverify accepts them).
bool WellFormedSmartCaUserId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
           c == '@' || c == '-';
  });
}

// Failures after which the attempt had no verdict (a dependency down): not held against the IP.
bool NoVerdict(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsInternal(s) ||
         absl::IsUnknown(s);
}

}  // namespace

std::string AcrForIal(int ial) { return absl::StrCat("urn:dvc:ial:", ial); }

std::vector<std::string> AmrForMethod(const std::string& method) {
  if (method == kLoginMethodPasswordOtp) return {"pwd", "otp"};
  if (method == kLoginMethodUsb) return {"hwk", "pin"};
  if (method == kLoginMethodSim) return {"sc", "pin", "mca"};
  if (method == kLoginMethodSmartCa) return {"swk", "pin", "mca"};
  return {};
}

absl::Status InvalidCredentials() {
  return status::Unauthenticated("INVALID_CREDENTIALS", "Số định danh hoặc mật khẩu không đúng.",
                                 "The ID number or password is incorrect.");
}

AuthSecrets DeriveSecrets(const std::string& token_hmac_secret) {
  return AuthSecrets{
      .refresh_key = crypto::HmacSha256(token_hmac_secret, "dvc.auth.refresh-token.v1"),
      .index_key = crypto::HmacSha256(token_hmac_secret, "dvc.auth.blind-index.v1"),
  };
}

AuthDomain::AuthDomain(Deps deps, AuthSecrets secrets, AuthOptions options)
    : deps_(std::move(deps)),
      secrets_(std::move(secrets)),
      options_(std::move(options)),
      throttle_(deps_.store, deps_.clock, options_.throttle),
      introspector_(deps_.keys, deps_.store, deps_.clock,
                    IntrospectOptions{.issuer = options_.issuer,
                                      .audience = options_.audience,
                                      .session_cache_ttl = options_.session_cache_ttl}) {}

void AuthDomain::Defer(std::function<void()> fn) {
  if (deps_.defer) {
    deps_.defer(std::move(fn));
  } else {
    fn();
  }
}

std::string AuthDomain::RefreshHmac(const std::string& token) const {
  return crypto::HexEncode(crypto::HmacSha256(secrets_.refresh_key, token));
}

absl::StatusOr<captcha::IssuedCaptcha> AuthDomain::CreateCaptcha() {
  return deps_.captcha->Issue();
}

void AuthDomain::RecordHistory(const std::string& account_id, const std::string& method,
                               bool success, const std::string& reason, const ClientInfo& client,
                               absl::Time at) {
  LoginRecord r;
  r.account_id = account_id;
  r.at = at;
  r.method = method;
  r.success = success;
  r.failure_reason = success ? "" : reason;
  r.ip = client.ip;
  r.user_agent = client.user_agent;
  r.device = client.device;
  if (absl::Status s = deps_.store->AppendLoginRecord(r); !s.ok()) {
    log::Error("login_history.append_failed", {{"error", s.ToString()}});
  }
}

absl::StatusOr<LoginFlowView> AuthDomain::StartPasswordLogin(const StartLoginRequest& req) {
  ClientInfo client = req.client;
  if (client.ip.empty()) client.ip = "unknown";
  const std::string id_number = NormalizeIdNumber(req.id_number);
  const std::string id_index =
      crypto::BlindIndex(secrets_.index_key, absl::StrCat("id_number:", id_number));

  // One transaction: the request counts in the IP window, the captcha is consumed (whatever
  // happens next), and the attempt is admitted by the throttles (counted as a failure in
  // advance) — each step only when the one before passed.
  PasswordAdmission admission = throttle_.PasswordAdmissionFor(id_index, client.ip);
  admission.captcha_id = req.captcha_id;
  admission.captcha_answer = req.captcha_answer;
  if (absl::Status s = deps_.store->AdmitPasswordAttempt(admission); !s.ok()) return s;
  // Counted like any failure; the answer is the same as for a wrong password.
  if (!WellFormedIdNumber(id_number) || req.password.empty()) return InvalidCredentials();

  auto verdict = deps_.accounts->VerifyPassword(id_number, req.password);
  if (!verdict.ok() && verdict.status().code() != absl::StatusCode::kInvalidArgument) {
    log::Warn("login.accounts_failed", {{"error", verdict.status().ToString()}});
    if (absl::Status s = throttle_.Refund(id_index, client.ip); !s.ok()) {
      log::Warn("login.throttle_refund_failed", {{"error", s.ToString()}});
    }
    return DependencyUnavailable();
  }
  absl::Time now = deps_.clock->Now();
  if (!verdict.ok() || !verdict->valid) {
    // Attribute the failure to the account's history after the answer, so neither the answer
    // nor its timing depends on whether the account exists.
    Defer([this, id_number, client, now] {
      auto account_id = deps_.accounts->FindAccountId(id_number);
      if (account_id.ok() && account_id->has_value()) {
        RecordHistory(**account_id, kLoginMethodPasswordOtp, false, "INVALID_CREDENTIALS", client, now);
      }
    });
    return InvalidCredentials();
  }

  // The password is right: the pair counter starts over. Written together with the login flow
  // when there is one, on its own otherwise.
  const ThrottleUpdate success = throttle_.SuccessUpdate(id_index, client.ip);
  auto record_success = [&] {
    if (absl::Status s = deps_.store->UpdateThrottles(success.keys, success.fn); !s.ok()) {
      log::Warn("login.throttle_reset_failed", {{"error", s.ToString()}});
    }
  };
  if (verdict->status == AccountStatus::kLocked) {
    record_success();
    RecordHistory(verdict->account_id, kLoginMethodPasswordOtp, false, "ACCOUNT_LOCKED", client, now);
    return status::PermissionDenied("ACCOUNT_LOCKED",
                                    "Tài khoản đã bị khóa. Vui lòng liên hệ bộ phận hỗ trợ.",
                                    "The account is locked. Please contact support.");
  }
  if (verdict->status == AccountStatus::kClosed) {
    record_success();
    RecordHistory(verdict->account_id, kLoginMethodPasswordOtp, false, "ACCOUNT_CLOSED", client, now);
    return status::PermissionDenied("ACCOUNT_CLOSED", "Tài khoản đã bị đóng.",
                                    "The account has been closed.");
  }
  if (verdict->phone.empty()) {
    record_success();
    RecordHistory(verdict->account_id, kLoginMethodPasswordOtp, false, "OTP_PHONE_MISSING", client, now);
    return status::FailedPrecondition("OTP_PHONE_MISSING", "",
                                      "Tài khoản chưa có số điện thoại nhận OTP.",
                                      "The account has no phone number for OTP.");
  }

  LoginFlow flow;
  flow.flow_id = crypto::NewUuidV4(*deps_.random);
  flow.account_id = verdict->account_id;
  flow.ial = verdict->ial;
  flow.client = client;
  flow.created_at = now;
  flow.expires_at = now + options_.login_flow_ttl;
  const std::string subject =
      crypto::BlindIndex(secrets_.index_key, absl::StrCat("account:", verdict->account_id));
  auto challenge = deps_.otp->Send(absl::StrCat("login:", flow.flow_id), verdict->phone,
                                   kOtpPurposeLogin, subject);
  if (!challenge.ok()) {
    record_success();
    return challenge.status();  // e.g. RESOURCE_EXHAUSTED as is
  }
  flow.challenge_id = challenge->challenge_id;
  if (absl::Status s = deps_.store->UpdateThrottlesAndCreateFlow(success, flow); !s.ok()) {
    return s;
  }
  log::Info("login.otp_sent", {{"flow_id", flow.flow_id}});
  return LoginFlowView{flow.flow_id, challenge->masked_phone, flow.expires_at,
                       challenge->expires_at, challenge->resend_after};
}

absl::StatusOr<LoginFlow> AuthDomain::LiveFlow(const std::string& flow_id, absl::Time now,
                                               const std::string& method) {
  if (!IsUuid(flow_id)) return FlowNotFound();
  auto flow = deps_.store->GetLoginFlow(absl::AsciiStrToLower(flow_id));
  if (!flow.ok()) return flow.status();
  if (!flow->has_value()) return FlowNotFound();
  if (method.empty() ? !IsCertificateMethod((*flow)->method) : (*flow)->method != method) {
    return MethodMismatch();
  }
  if ((*flow)->completed_at.has_value()) return FlowCompleted();
  if (now >= (*flow)->expires_at) {
    return status::FailedPrecondition("LOGIN_FLOW_EXPIRED", "login_flow_id",
                                      "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
                                      "The login flow has expired. Please sign in again.");
  }
  return **flow;
}

absl::StatusOr<LoginFlowView> AuthDomain::ResendLoginOtp(const std::string& flow_id) {
  absl::Time now = deps_.clock->Now();
  auto flow = LiveFlow(flow_id, now, kLoginMethodPasswordOtp);
  if (!flow.ok()) return flow.status();
  auto challenge = deps_.otp->Resend(flow->challenge_id);
  if (!challenge.ok()) return challenge.status();
  return LoginFlowView{flow->flow_id, challenge->masked_phone, flow->expires_at,
                       challenge->expires_at, challenge->resend_after};
}

absl::StatusOr<Tokens> AuthDomain::CompleteLogin(const std::string& flow_id,
                                                 const std::string& otp) {
  absl::Time now = deps_.clock->Now();
  auto flow = LiveFlow(flow_id, now, kLoginMethodPasswordOtp);
  if (!flow.ok()) return flow.status();
  if (otp.empty()) {
    return status::InvalidArgument("OTP_REQUIRED", "otp", "Vui lòng nhập mã OTP.",
                                   "Please enter the OTP code.");
  }
  // Keyed by the flow: a retry after a lost answer (or a failure below) is answered success
  // again by otp instead of OTP_ALREADY_USED.
  if (absl::Status s = deps_.otp
                           ->Verify(flow->challenge_id, otp, kOtpPurposeLogin,
                                    "login:" + flow->flow_id)
                           .status();
      !s.ok()) {
    std::string reason = status::ReasonOf(s);
    if (absl::StartsWith(reason, "OTP_")) {
      RecordHistory(flow->account_id, flow->method, false, reason, flow->client, now);
    }
    return s;
  }
  return StartSession(*flow, flow->account_id, flow->ial, now);
}

absl::StatusOr<Tokens> AuthDomain::StartSession(const LoginFlow& flow,
                                                const std::string& account_id, int ial,
                                                absl::Time now) {
  // One session per flow, even when two completions race.
  auto won = deps_.store->CompleteLoginFlow(flow.flow_id, now);
  if (!won.ok()) return won.status();
  if (!*won) return FlowCompleted();

  Session session;
  session.session_id = crypto::NewUuidV4(*deps_.random);
  session.account_id = account_id;
  session.ial = ial;
  session.amr = AmrForMethod(flow.method);
  session.auth_time = now;
  session.created_at = now;
  session.expires_at = now + options_.session_max_ttl;
  session.client = flow.client;
  std::string refresh = crypto::RandomToken(*deps_.random, kRefreshTokenBytes);
  RefreshRecord first{RefreshHmac(refresh), session.session_id, now,
                      std::min(now + options_.refresh_idle_ttl, session.expires_at)};
  if (absl::Status s = deps_.store->CreateSession(session, first); !s.ok()) return s;
  RecordHistory(account_id, flow.method, true, "", flow.client, now);
  log::Info("login.succeeded", {{"flow_id", flow.flow_id},
                                {"method", flow.method},
                                {"session_id", session.session_id}});
  return IssueTokens(session, std::move(refresh), now);
}

// ---- certificate login (LGN-3, LGN-4, LGN-7) ---------------------------------------------------

absl::StatusOr<CertificateLoginView> AuthDomain::StartCertificateLogin(
    const StartCertificateLoginRequest& req) {
  if (deps_.sigverify == nullptr) {
    return status::Unavailable("CERTIFICATE_LOGIN_UNAVAILABLE",
                               "Đăng nhập bằng chữ ký số tạm thời chưa khả dụng.",
                               "Certificate login is not available at the moment.");
  }
  ClientInfo client = req.client;
  if (client.ip.empty()) client.ip = "unknown";

  LoginFlow flow;
  std::string subscriber;  // as sent to sigverify
  RemoteProvider provider = RemoteProvider::kSim;
  switch (req.method) {
    case CertificateMethod::kUsb:
      flow.method = kLoginMethodUsb;
      break;
    case CertificateMethod::kSim: {
      flow.method = kLoginMethodSim;
      if (req.phone.empty()) {
        return status::InvalidArgument("PHONE_REQUIRED", "phone",
                                       "Vui lòng nhập số điện thoại của SIM ký số.",
                                       "Please enter the phone number of the signature SIM.");
      }
      auto phone = validators::NormalizePhone(req.phone, "phone");  // PHONE_MALFORMED
      if (!phone.ok()) return phone.status();
      subscriber = *phone;
      provider = RemoteProvider::kSim;
      break;
    }
    case CertificateMethod::kSmartCa: {
      flow.method = kLoginMethodSmartCa;
      std::string user_id(absl::StripAsciiWhitespace(req.smartca_user_id));
      if (user_id.empty()) {
        return status::InvalidArgument("SMARTCA_USER_ID_REQUIRED", "smartca_user_id",
                                       "Vui lòng nhập tài khoản SmartCA.",
                                       "Please enter the SmartCA user id.");
      }
      if (!WellFormedSmartCaUserId(user_id)) {
        return status::InvalidArgument("SMARTCA_USER_ID_INVALID", "smartca_user_id",
                                       "Tài khoản SmartCA không hợp lệ.",
                                       "The SmartCA user id is malformed.");
      }
      subscriber = user_id;
      provider = RemoteProvider::kSmartCa;
      break;
    }
    default:
      return status::InvalidArgument("LOGIN_METHOD_INVALID", "method",
                                     "Phương thức đăng nhập không hợp lệ.",
                                     "The sign-in method is missing or unknown.");
  }

  if (absl::Status s = throttle_.CheckIp(client.ip); !s.ok()) return s;
  if (flow.method != kLoginMethodUsb) {
    // Case-insensitive for SmartCA ids, so "User" and "user" share one limit.
    flow.subscriber_index = crypto::BlindIndex(
        secrets_.index_key,
        absl::StrCat("subscriber:", flow.method, ":", absl::AsciiStrToLower(subscriber)));
    if (absl::Status s = throttle_.CheckSubscriber(flow.subscriber_index, client.ip); !s.ok()) {
      return s;
    }
  }

  absl::Time now = deps_.clock->Now();
  flow.flow_id = crypto::NewUuidV4(*deps_.random);
  flow.client = client;
  flow.created_at = now;
  flow.expires_at = now + options_.login_flow_ttl;

  CertificateLoginView view;
  view.flow_id = flow.flow_id;
  view.method = flow.method;
  view.expires_at = flow.expires_at;
  if (flow.method == kLoginMethodUsb) {
    auto challenge = deps_.sigverify->IssueChallenge(kSigverifyLogin, flow.flow_id);
    if (!challenge.ok()) return challenge.status();
    flow.challenge_id = challenge->challenge_id;
    view.challenge = challenge->challenge;
    view.challenge_expires_at = challenge->expires_at;
  } else {
    auto tx = deps_.sigverify->StartRemoteSignature(
        kSigverifyLogin, {flow.flow_id, provider, subscriber, kRemoteLoginDisplayText});
    if (!tx.ok()) return tx.status();  // SIGNER_* as is
    flow.challenge_id = tx->transaction_id;
    view.transaction_id = tx->transaction_id;
    view.verification_code = tx->verification_code;
    view.transaction_expires_at = tx->expires_at;
    if (flow.method == kLoginMethodSim) view.masked_phone = validators::MaskPhone(subscriber);
  }
  if (absl::Status s = deps_.store->CreateLoginFlow(flow); !s.ok()) return s;
  log::Info("login.certificate_started", {{"flow_id", flow.flow_id}, {"method", flow.method}});
  return view;
}

void AuthDomain::CountCertificateFailure(const LoginFlow& flow, const absl::Status& s) {
  if (NoVerdict(s)) return;
  if (absl::Status c = throttle_.RecordIpFailure(flow.client.ip); !c.ok()) {
    log::Warn("login.ip_failure_count_failed", {{"error", c.ToString()}});
  }
  log::Info("login.certificate_failed",
            {{"flow_id", flow.flow_id}, {"method", flow.method}, {"reason", status::ReasonOf(s)}});
}

absl::StatusOr<Tokens> AuthDomain::FinishCertificateLogin(const LoginFlow& flow,
                                                          const VerifiedSigner& signer,
                                                          absl::Time now) {
  auto holder = deps_.accounts->FindByCertificate(absl::AsciiStrToLower(signer.fingerprint_sha256));
  if (!holder.ok()) {
    log::Warn("login.accounts_failed", {{"error", holder.status().ToString()}});
    return DependencyUnavailable();
  }
  if (!holder->found || holder->account_id.empty()) {
    absl::Status s = CertificateNotRegistered();
    CountCertificateFailure(flow, s);
    return s;
  }
  // The user proved possession of a certificate registered to this account: like a correct
  // password, that earns the account's real state.
  if (holder->status == AccountStatus::kLocked) {
    RecordHistory(holder->account_id, flow.method, false, "ACCOUNT_LOCKED", flow.client, now);
    return status::PermissionDenied("ACCOUNT_LOCKED",
                                    "Tài khoản đã bị khóa. Vui lòng liên hệ bộ phận hỗ trợ.",
                                    "The account is locked. Please contact support.");
  }
  if (holder->status == AccountStatus::kClosed) {
    RecordHistory(holder->account_id, flow.method, false, "ACCOUNT_CLOSED", flow.client, now);
    return status::PermissionDenied("ACCOUNT_CLOSED", "Tài khoản đã bị đóng.",
                                    "The account has been closed.");
  }
  if (holder->status != AccountStatus::kActive) {
    absl::Status s = CertificateNotRegistered();
    CountCertificateFailure(flow, s);
    return s;
  }
  auto tokens = StartSession(flow, holder->account_id,
                             std::max(holder->ial, kCertificateLoginIal), now);
  if (!tokens.ok()) return tokens.status();
  if (!flow.subscriber_index.empty()) {
    if (absl::Status s = throttle_.RecordSubscriberSuccess(flow.subscriber_index, flow.client.ip);
        !s.ok()) {
      log::Warn("login.subscriber_trust_failed", {{"error", s.ToString()}});
    }
  }
  return tokens;
}

absl::StatusOr<Tokens> AuthDomain::CompleteCertificateLogin(
    const CompleteCertificateLoginRequest& req) {
  if (deps_.sigverify == nullptr) return FlowNotFound();  // no certificate flow can exist
  absl::Time now = deps_.clock->Now();
  auto flow = LiveFlow(req.flow_id, now, kLoginMethodUsb);
  if (!flow.ok()) return flow.status();
  ChallengeSignature sig;
  sig.challenge_id = flow->challenge_id;
  sig.flow_id = flow->flow_id;
  sig.format = req.format;
  sig.signature = req.signature;
  sig.certificate = req.certificate;
  sig.chain = req.chain;
  auto signer = deps_.sigverify->VerifyChallengeSignature(kSigverifyLogin, sig);
  if (!signer.ok()) {
    CountCertificateFailure(*flow, signer.status());
    return signer.status();  // CERT_*, SIGNATURE_*, CHALLENGE_* unchanged
  }
  return FinishCertificateLogin(*flow, *signer, deps_.clock->Now());
}

absl::StatusOr<CertificateLoginPoll> AuthDomain::PollCertificateLogin(const std::string& flow_id) {
  if (deps_.sigverify == nullptr) return FlowNotFound();
  absl::Time now = deps_.clock->Now();
  auto flow = LiveFlow(flow_id, now, "");
  if (!flow.ok()) return flow.status();
  if (flow->method == kLoginMethodUsb) return MethodMismatch();
  auto outcome = deps_.sigverify->GetRemoteSignatureResult(kSigverifyLogin, flow->challenge_id,
                                                                flow->flow_id);
  if (!outcome.ok()) {
    CountCertificateFailure(*flow, outcome.status());
    return outcome.status();  // SIGNER_*, CERT_* unchanged
  }
  CertificateLoginPoll poll;
  if (outcome->pending) return poll;
  auto tokens = FinishCertificateLogin(*flow, outcome->signer, deps_.clock->Now());
  if (!tokens.ok()) return tokens.status();
  poll.pending = false;
  poll.tokens = *std::move(tokens);
  return poll;
}

absl::StatusOr<std::string> AuthDomain::AccessToken(const Session& session, absl::Time now,
                                                    int64_t* expires_in) {
  std::shared_ptr<const KeySet> keys = deps_.keys->Keys();
  if (keys == nullptr || keys->signer == nullptr) return status::Internal();
  absl::Time exp = std::min(now + options_.access_token_ttl, session.expires_at);
  *expires_in = std::max<int64_t>(0, absl::ToInt64Seconds(exp - now));
  jwt::JsonObjectBuilder claims;
  claims.String("iss", options_.issuer)
      .String("sub", session.account_id)
      .String("aud", options_.audience)
      .Int("exp", absl::ToUnixSeconds(exp))
      .Int("iat", absl::ToUnixSeconds(now))
      .String("jti", crypto::NewUuidV4(*deps_.random))
      .String("sid", session.session_id)
      .String("acr", AcrForIal(session.ial))
      .StringArray("amr", session.amr)
      .Int("auth_time", absl::ToUnixSeconds(session.auth_time));
  auto token = jwt::Sign(*keys->signer, claims.Build());
  if (!token.ok()) {
    log::Error("token.sign_failed", {{"error", token.status().ToString()}});
    return status::Internal();
  }
  return *token;
}

absl::StatusOr<Tokens> AuthDomain::IssueTokens(const Session& session, std::string refresh_token,
                                               absl::Time now) {
  Tokens t;
  auto access = AccessToken(session, now, &t.expires_in);
  if (!access.ok()) return access.status();
  t.access_token = *std::move(access);
  t.refresh_token = std::move(refresh_token);
  t.acr = AcrForIal(session.ial);
  t.amr = session.amr;
  t.session_id = session.session_id;
  return t;
}

absl::StatusOr<Tokens> AuthDomain::Refresh(const std::string& refresh_token) {
  auto raw = crypto::Base64UrlDecode(refresh_token);
  if (!raw.has_value() || raw->size() != kRefreshTokenBytes) return RefreshTokenInvalid();
  absl::Time now = deps_.clock->Now();
  std::string next = crypto::RandomToken(*deps_.random, kRefreshTokenBytes);
  RefreshRecord next_record{RefreshHmac(next), "", now, now + options_.refresh_idle_ttl};
  auto result = deps_.store->RotateRefreshToken(RefreshHmac(refresh_token), next_record, now,
                                                options_.refresh_reuse_grace);
  if (!result.ok()) return result.status();
  switch (result->outcome) {
    case RotateOutcome::kGraceReplay:
      // Answered like a rotation; the successor issued before can no longer be used.
      log::Info("auth.refresh_grace_replay", {{"session_id", result->session.session_id}});
      [[fallthrough]];
    case RotateOutcome::kRotated:
      return IssueTokens(result->session, std::move(next), now);
    case RotateOutcome::kReused:
      if (!result->session.session_id.empty()) {
        introspector_.ForgetSession(result->session.session_id);
      }
      log::Warn("refresh.reuse_detected", {{"session_id", result->session.session_id}});
      return status::Unauthenticated(
          "REFRESH_TOKEN_REUSED",
          "Phiên đăng nhập đã bị thu hồi vì lý do an toàn. Vui lòng đăng nhập lại.",
          "The session was revoked because a refresh token was reused. Please sign in again.");
    case RotateOutcome::kExpired:
      return status::Unauthenticated("SESSION_EXPIRED",
                                     "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
                                     "The session has expired. Please sign in again.");
    case RotateOutcome::kRevoked:
      return status::Unauthenticated("SESSION_REVOKED",
                                     "Phiên đăng nhập đã kết thúc. Vui lòng đăng nhập lại.",
                                     "The session has ended. Please sign in again.");
    case RotateOutcome::kUnknown:
      break;
  }
  return RefreshTokenInvalid();
}

absl::Status AuthDomain::Logout(const std::string& refresh_token) {
  auto raw = crypto::Base64UrlDecode(refresh_token);
  if (!raw.has_value() || raw->size() != kRefreshTokenBytes) return RefreshTokenInvalid();
  auto sid =
      deps_.store->RevokeSessionByRefresh(RefreshHmac(refresh_token), deps_.clock->Now(), "LOGOUT");
  if (!sid.ok()) return sid.status();
  if (!sid->has_value()) return RefreshTokenInvalid();
  introspector_.ForgetSession(**sid);
  log::Info("logout", {{"session_id", **sid}});
  return absl::OkStatus();
}

absl::StatusOr<int> AuthDomain::RevokeAllSessions(const std::string& account_id,
                                                  const std::string& reason,
                                                  std::optional<absl::Time> changed_at) {
  if (!IsUuid(account_id)) return AccountIdInvalid();
  absl::Time now = deps_.clock->Now();
  absl::Time cutoff = changed_at.has_value() ? std::min(*changed_at, now) : now;
  auto revoked = deps_.store->RevokeSessionsOfAccount(absl::AsciiStrToLower(account_id), cutoff,
                                                      now, reason);
  if (!revoked.ok()) return revoked.status();
  for (const std::string& sid : *revoked) introspector_.ForgetSession(sid);
  log::Info("sessions.revoked_all", {{"account_id", absl::AsciiStrToLower(account_id)},
                                     {"reason", reason},
                                     {"count", absl::StrCat(revoked->size())}});
  return static_cast<int>(revoked->size());
}

Introspection AuthDomain::Introspect(const std::string& token) {
  return introspector_.Introspect(token);
}

std::optional<Introspection> AuthDomain::TryIntrospect(const std::string& token) {
  return introspector_.TryIntrospect(token);
}

std::string AuthDomain::Jwks() {
  std::shared_ptr<const KeySet> keys = deps_.keys->Keys();
  return keys == nullptr ? std::string("{\"keys\":[]}") : keys->jwks_json;
}

absl::StatusOr<std::vector<LoginRecord>> AuthDomain::ListLoginHistory(const std::string& account_id,
                                                                      int limit) {
  if (!IsUuid(account_id)) return AccountIdInvalid();
  if (limit <= 0) limit = kDefaultHistoryLimit;
  limit = std::min(limit, kMaxHistoryLimit);
  return deps_.store->ListLoginRecords(absl::AsciiStrToLower(account_id), limit);
}

}  // namespace dvc::auth
