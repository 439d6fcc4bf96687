// dvc — register yourself and log in by hand against the dev stack (tools/dev up).
//   bazel-bin/tools/cli/dvc register [--auto_otp] [--captcha_file=/tmp/dvc-captcha.png]
//   bazel-bin/tools/cli/dvc login [--auto_otp]
// Every prompt reads one line from stdin, so `printf '…' | dvc register --auto_otp` works.
// Exit status: 0 done, 1 failed or end of input, 2 bad flags.
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/config/config.h"
#include "libs/http/http_client.h"
#include "libs/server/call.h"
#include "libs/status/errors.h"
#include "libs/status/grpc_status.h"
#include "protos/dvc/auth/v1/auth.grpc.pb.h"
#include "protos/dvc/registration/v1/registration.grpc.pb.h"
#include "tools/cli/cli_lib.h"

namespace dvc::cli {
namespace {

namespace reg = ::dvc::registration::v1;
namespace authpb = ::dvc::auth::v1;

struct Options {
  std::string registration_addr, auth_addr, sms_url, captcha_file;
  bool auto_otp = false;
};

std::unique_ptr<grpc::ClientContext> Ctx() { return server::ClientContext(absl::Seconds(20)); }

struct Field {
  const char* name;  // the request field, as errors name it
  const char* vi;
  const char* en;
  std::string value;
};

class Cli final {
 public:
  Cli(Options o, Prompter& p)
      : o_(std::move(o)),
        p_(p),
        reg_(reg::RegistrationService::NewStub(server::Dial(o_.registration_addr))),
        auth_(authpb::AuthService::NewStub(server::Dial(o_.auth_addr))) {}

  int Register() {
    std::vector<Field> form = {
        {"id_number", "Số CCCD/CMND", "ID number: CCCD 12 digits or CMND 9 digits"},
        {"full_name", "Họ và tên", "full name, with diacritics"},
        {"date_of_birth", "Ngày sinh (YYYY-MM-DD)", "date of birth"},
        {"phone", "Số điện thoại di động", "mobile phone number"},
        {"email", "Email (không bắt buộc, Enter để bỏ qua)", "optional, Enter to skip"}};
    for (auto& f : form) {
      if (!AskField(f)) return 1;
    }
    std::cout << "Chính sách chia sẻ thông tin (information-sharing policy) phiên bản (version) "
              << kConsent << ": thông tin của bạn được đối chiếu với nhà mạng và CSDL dân cư "
              << "(your data is checked with your carrier and the population database).\n";
    auto agree = p_.YesNo("Bạn đồng ý?", "do you accept?");
    if (!agree) return 1;
    if (!*agree) return Fail("Không thể đăng ký khi chưa đồng ý (no consent, no registration).");
    const std::string& phone = form[3].value;
    reg::Flow flow;
    std::string sms_id;  // the newest SMS before ours (for --auto_otp)
    while (true) {
      reg::Captcha c;
      if (!Ok(reg_->CreateCaptcha(Ctx().get(), {}, &c))) return 1;
      auto answer = SolveCaptcha(c);
      if (!answer) return 1;
      reg::StartMobileRegistrationRequest r;
      r.set_captcha_id(c.captcha_id());
      r.set_captcha_answer(*answer);
      r.set_id_number(form[0].value);
      r.set_full_name(form[1].value);
      r.set_date_of_birth(form[2].value);
      r.set_phone(phone);
      r.set_email(form[4].value);
      r.set_consent_version(kConsent);
      sms_id = LastSms(phone).message_id;
      absl::Status s = status::FromGrpcStatus(reg_->StartMobileRegistration(Ctx().get(), r, &flow));
      if (s.ok()) break;
      std::cout << FormatError(s);
      auto info = status::GetErrorInfo(s);
      std::string field = info ? info->field : "", flow_id;
      if (info && info->metadata.count("flow_id")) flow_id = info->metadata.at("flow_id");
      if (s.code() == absl::StatusCode::kUnavailable && !flow_id.empty()) {
        if (!Resume(flow_id, &flow)) return 1;
        break;
      }
      if (field == "captcha_answer") continue;
      auto it =
          std::find_if(form.begin(), form.end(), [&](const Field& f) { return f.name == field; });
      if (it == form.end() || !AskField(*it)) return 1;
    }
    bool try_auto = o_.auto_otp;
    while (flow.state() == reg::FLOW_STATE_OTP_SENT) {
      auto otp = Otp(flow.masked_phone(), phone, &sms_id, &try_auto);
      if (!otp) return 1;
      reg::FlowRef ref;
      ref.set_flow_id(flow.flow_id());
      if (*otp == "r") {
        sms_id = LastSms(phone).message_id;
        try_auto = o_.auto_otp;
        announced_ = false;
        if (absl::Status s = status::FromGrpcStatus(reg_->ResendOtp(Ctx().get(), ref, &flow));
            !s.ok()) {
          std::cout << FormatError(s);
          if (Fatal(s)) return 1;
        }
        continue;
      }
      reg::VerifyOtpRequest v;
      v.set_flow_id(flow.flow_id());
      v.set_otp(*otp);
      if (absl::Status s = status::FromGrpcStatus(reg_->VerifyOtp(Ctx().get(), v, &flow));
          !s.ok()) {
        std::cout << FormatError(s);
        if (Fatal(s)) return 1;
      }
    }
    while (flow.state() == reg::FLOW_STATE_PASSWORD_REQUIRED) {
      std::cout << "Mật khẩu: ≥ 8 ký tự, có chữ thường, chữ hoa, chữ số và ký tự đặc biệt "
                << "(password: 8+ characters with lower case, upper case, digit, special).\n";
      auto pw = p_.Secret("Mật khẩu", "password");
      if (!pw) return 1;
      auto again = p_.Secret("Nhập lại mật khẩu", "confirm password");
      if (!again) return 1;
      reg::SetPasswordRequest r;
      r.set_flow_id(flow.flow_id());
      r.set_password(*pw);
      r.set_password_confirmation(*again);
      if (absl::Status s = status::FromGrpcStatus(reg_->SetPassword(Ctx().get(), r, &flow));
          !s.ok()) {
        std::cout << FormatError(s);
        if (Fatal(s)) return 1;
      }
    }
    if (flow.state() != reg::FLOW_STATE_COMPLETED) {
      return Fail(absl::StrCat("Đăng ký thất bại (registration failed): ", flow.failure_reason(),
                               " [", reg::FlowState_Name(flow.state()), "]"));
    }
    std::cout << "Đăng ký thành công (registered).\n  account_id: " << flow.account_id()
              << "\n  IAL: " << flow.ial() << "\n";
    return 0;
  }

  int Login() {
    std::optional<std::string> id, pw, phone;
    authpb::LoginFlow lf;
    std::string sms_id;
    bool ask_credentials = true;
    while (true) {
      if (ask_credentials) {
        if (!(id = p_.Ask("Số CCCD/CMND", "ID number")) ||
            !(pw = p_.Secret("Mật khẩu", "password"))) {
          return 1;
        }
        if (o_.auto_otp && !phone &&
            !(phone =
                  p_.Ask("Số điện thoại nhận OTP (cho --auto_otp)", "phone receiving the OTP"))) {
          return 1;
        }
      }
      authpb::Captcha c;
      if (!Ok(auth_->CreateCaptcha(Ctx().get(), {}, &c))) return 1;
      auto answer = SolveCaptcha(c);
      if (!answer) return 1;
      authpb::StartPasswordLoginRequest r;
      r.set_captcha_id(c.captcha_id());
      r.set_captcha_answer(*answer);
      r.set_id_number(*id);
      r.set_password(*pw);
      r.mutable_client()->set_user_agent("dvc-cli");
      r.mutable_client()->set_device("cli");
      if (phone) sms_id = LastSms(*phone).message_id;
      absl::Status s = status::FromGrpcStatus(auth_->StartPasswordLogin(Ctx().get(), r, &lf));
      if (s.ok()) break;
      std::cout << FormatError(s);
      auto info = status::GetErrorInfo(s);
      ask_credentials = !(info && info->field == "captcha_answer");
      if (ask_credentials && s.code() != absl::StatusCode::kUnauthenticated &&
          s.code() != absl::StatusCode::kInvalidArgument) {
        return 1;
      }
    }
    bool try_auto = o_.auto_otp;
    authpb::TokenResponse t;
    while (true) {
      auto otp = Otp(lf.masked_phone(), phone.value_or(""), &sms_id, &try_auto);
      if (!otp) return 1;
      authpb::LoginFlowRef ref;
      ref.set_login_flow_id(lf.login_flow_id());
      absl::Status s;
      if (*otp == "r") {
        if (phone) sms_id = LastSms(*phone).message_id;
        try_auto = o_.auto_otp;
        announced_ = false;
        s = status::FromGrpcStatus(auth_->ResendLoginOtp(Ctx().get(), ref, &lf));
      } else {
        authpb::CompleteLoginRequest cr;
        cr.set_login_flow_id(lf.login_flow_id());
        cr.set_otp(*otp);
        s = status::FromGrpcStatus(auth_->CompleteLogin(Ctx().get(), cr, &t));
        if (s.ok()) break;
      }
      if (!s.ok()) std::cout << FormatError(s);
      if (Fatal(s)) return 1;
    }
    std::cout << "Đăng nhập thành công (logged in). acr: " << t.acr()
              << ", session_id: " << t.session_id() << ", expires_in: " << t.expires_in()
              << " s\nAccess token claims:\n";
    auto claims = JwtClaims(t.access_token());
    if (!claims.ok()) std::cout << "  (" << claims.status().message() << ")\n";
    for (size_t i = 0; claims.ok() && i < claims->size(); ++i) {
      std::cout << "  " << (*claims)[i].first << ": " << (*claims)[i].second << "\n";
    }
    std::cout << "Refresh token: " << t.refresh_token() << "\n";
    authpb::IntrospectRequest ir;
    ir.set_token(t.access_token());
    authpb::IntrospectResponse info;
    if (!Ok(auth_->Introspect(Ctx().get(), ir, &info))) return 1;
    std::cout << "Introspect: active=" << (info.active() ? "true" : "false")
              << " sub=" << info.sub() << " acr=" << info.acr() << "\n";
    return 0;
  }

 private:
  static constexpr char kConsent[] = "2024-01";

  static int Fail(const std::string& msg) {
    std::cout << msg << "\n";
    return 1;
  }
  static bool Ok(const grpc::Status& g) {
    absl::Status s = status::FromGrpcStatus(g);
    if (!s.ok()) std::cout << FormatError(s);
    return s.ok();
  }
  // Errors after which the flow cannot go on (asking again would not help).
  static bool Fatal(const absl::Status& s) {
    std::string r = status::ReasonOf(s);
    return absl::StartsWith(r, "FLOW_") || absl::StartsWith(r, "LOGIN_FLOW") ||
           r == "OTP_ATTEMPTS_EXCEEDED" || s.code() == absl::StatusCode::kNotFound;
  }

  bool AskField(Field& f) {
    auto v = p_.Ask(f.vi, f.en);
    if (v) f.value = *v;
    return v.has_value();
  }

  template <typename CaptchaT>
  std::optional<std::string> SolveCaptcha(const CaptchaT& c) {
    std::ofstream(o_.captcha_file, std::ios::binary | std::ios::trunc) << c.png();
    std::cout << "Ảnh captcha (captcha image): " << o_.captcha_file << "\n";
    if (!c.dev_answer().empty()) {
      std::cout << "  gợi ý của môi trường dev (dev stack hint): " << c.dev_answer()
                << " — Enter để dùng (Enter uses it)\n";
    }
    auto a = p_.Ask("Nhập mã captcha", "type the captcha");
    if (a && a->empty()) return c.dev_answer();
    return a;
  }

  // Resumes a flow left pending by an outage, for as long as the user wants to retry.
  bool Resume(const std::string& flow_id, reg::Flow* flow) {
    while (true) {
      auto yes = p_.YesNo("Dịch vụ tạm gián đoạn. Thử lại?", "service unavailable; retry?");
      if (!yes || !*yes) return false;
      reg::FlowRef ref;
      ref.set_flow_id(flow_id);
      absl::Status s = status::FromGrpcStatus(reg_->ResumeFlow(Ctx().get(), ref, flow));
      if (s.ok()) return true;
      std::cout << FormatError(s);
      if (s.code() != absl::StatusCode::kUnavailable) return false;
    }
  }

  SmsOtp LastSms(const std::string& phone) {
    if (!o_.auto_otp || phone.empty()) return {};
    http::HttpRequest req;
    req.url = absl::StrCat(o_.sms_url, "/v1/otp/last?to=", UrlEncode(phone));
    req.timeout = absl::Seconds(3);
    auto resp = http_.Do(req);
    if (!resp.ok() || resp->status != 200) return {};
    return ParseSmsOtp(resp->body).value_or(SmsOtp{});
  }

  // The OTP: from the SMS sink (once per sent code, with --auto_otp) or typed; "r" = resend.
  std::optional<std::string> Otp(const std::string& masked, const std::string& phone,
                                 std::string* sms_id, bool* try_auto) {
    if (!announced_) {
      std::cout << "OTP đã gửi tới (sent to) " << masked << ". Xem SMS (read it at): " << o_.sms_url
                << "/v1/otp/last?to=<phone>\n";
      announced_ = true;
    }
    if (*try_auto && !phone.empty()) {
      *try_auto = false;
      for (absl::Time end = absl::Now() + absl::Seconds(10); absl::Now() < end;
           absl::SleepFor(absl::Milliseconds(200))) {
        SmsOtp m = LastSms(phone);
        if (!m.otp.empty() && m.message_id != *sms_id) {
          *sms_id = m.message_id;
          std::cout << "OTP: ****** (--auto_otp, từ SMS sink / from the SMS sink)\n";
          return m.otp;
        }
      }
      std::cout << "Không lấy được OTP từ SMS sink (no OTP found at the SMS sink).\n";
    }
    return p_.Ask("Nhập mã OTP 6 số, hoặc r để gửi lại", "6-digit OTP, or r to resend");
  }

  Options o_;
  Prompter& p_;
  std::unique_ptr<reg::RegistrationService::Stub> reg_;
  std::unique_ptr<authpb::AuthService::Stub> auth_;
  http::HttpClient http_;
  bool announced_ = false;  // "OTP sent to …" shown for the current code
};

}  // namespace
}  // namespace dvc::cli

int main(int argc, char** argv) {
  using dvc::cli::Options;
  dvc::config::Source src(argc, argv, {"register", "login"});
  Options o;
  o.registration_addr = src.String("registration_addr", "127.0.0.1:50051", "registration gRPC");
  o.auth_addr = src.String("auth_addr", "127.0.0.1:50052", "auth gRPC");
  o.sms_url = src.String("sms_url", "http://127.0.0.1:18083", "SMS sink simulator");
  o.captcha_file = src.String("captcha_file", "/tmp/dvc-captcha.png", "where the captcha PNG goes");
  o.auto_otp = src.Bool("auto_otp", false, "read the OTP from the SMS sink");
  absl::Status s = src.Finish();
  if (s.code() == absl::StatusCode::kFailedPrecondition) {  // --help
    std::cout << "usage: dvc register|login [flags]\n" << s.message();
    return 0;
  }
  if (!s.ok() || src.subcommand().empty()) {
    std::cerr << "usage: dvc register|login [flags]   (--help lists the flags)\n"
              << (s.ok() ? "" : s.message()) << "\n";
    return 2;
  }
  bool tty = isatty(STDIN_FILENO) == 1;
  dvc::cli::Prompter prompter(std::cin, std::cout, tty);
  dvc::cli::Cli cli(o, prompter);
  int rc = src.subcommand() == "register" ? cli.Register() : cli.Login();
  if (std::cin.eof()) std::cout << (tty ? "\n" : "") << "Hết dữ liệu vào (end of input).\n";
  std::cout << std::flush;
  return rc;
}
